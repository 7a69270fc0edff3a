/** Debian's chromium driven by playwright-core: no browser download, a fresh profile per launch. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.INKFLOW_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export async function launchChromium(viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), 'inkflow-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Draws an "l"-like stroke (down, then right) on the playground's letter pad with the mouse. */
export async function drawLetterOnPad(page: Page): Promise<void> {
  const box = await page.locator('canvas.pad').boundingBox();
  if (!box) throw new Error('the playground shows no letter pad (canvas.pad)');
  const at = (x: number, y: number) => [box.x + box.width * x, box.y + box.height * y] as const;
  await page.mouse.move(...at(0.3, 0.12));
  await page.mouse.down();
  await page.mouse.move(...at(0.3, 0.86), { steps: 15 });
  await page.mouse.move(...at(0.74, 0.86), { steps: 10 });
  await page.mouse.up();
}

