#!/usr/bin/env node
// Dashboard speed in Debian's chromium: first paint of the runs table over 1,000 run
// records, and in-browser letter prediction per drawing. Prints one JSON line.
// Usage: node --import tsx bench/ui.js   (the letter model comes from this workspace's newest saved model;
// tsx, for the tests' browser helpers in test/browser.ts)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drawLetterOnPad, launchChromium } from '../test/browser.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'inkflow.js');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** 1,000 records shaped like real ones: 16 stages, a few swept params, per-stage metrics. */
function writeRecords(ws, count) {
  const stages = ['load-train', 'load-test', 'sample-train', 'sample-test', 'normalize-train', 'normalize-validation', 'normalize-test', 'reshape-train', 'reshape-validation', 'reshape-test', 'build-model', 'train', 'evaluate', 'save-hdf5', 'write-labels', 'visualize'];
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < count; i++) {
    const started = new Date(t0 + i * 3_600_000);
    const runId = `${started.toISOString().replace(/[:.]/g, '-').replace('Z', '')}-${i.toString(16).padStart(6, '0')}`;
    const epochs = 1 + (i % 5);
    const lr = [1e-3, 5e-4, 2e-3][i % 3];
    const accuracy = 0.6 + 0.3 * ((i * 7919) % 1000) / 1000;
    const record = {
      runId, pipeline: i % 4 ? 'quick' : 'letters', pipelineFile: 'pipelines/quick.yaml', startedAt: started.toISOString(), finishedAt: new Date(started.getTime() + 60_000 + (i % 90) * 1000).toISOString(),
      ok: i % 23 !== 0, cancelled: false, trigger: 'cli', options: {},
      params: { data_dir: '/data', seed: i % 10 },
      stageParams: Object.fromEntries(stages.map((s) => [s, s === 'train' ? { epochs, learning_rate: lr, batch_size: 64 } : { seed: i % 10 }])),
      stages: Object.fromEntries(stages.map((s, k) => [s, { status: k < 10 && i > 0 ? 'cached' : 'ran', uses: s.replace(/-(train|test|validation)$/, ''), key: `${k}`.padStart(64, '0'), seconds: s === 'train' ? 40 : 0.5, startedAt: new Date(started.getTime() + k * 2000).toISOString(), metrics: s === 'evaluate' ? { accuracy, loss: 2 - accuracy * 2 } : s === 'train' ? { epochs, accuracy: accuracy + 0.02 } : undefined }])),
      environment: { node: 'v20', platform: 'linux-x64', inkflow: '0.1.0', backend: 'wasm', packages: {}, gitCommit: 'abcdef0123456789' },
    };
    mkdirSync(join(ws, 'logs', 'runs', runId), { recursive: true });
    writeFileSync(join(ws, 'logs', 'runs', runId, 'run.json'), JSON.stringify(record, null, 2));
  }
}

function startUi(cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'ui', '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let seen = '';
    child.stdout.on('data', (d) => {
      seen += d;
      const m = /inkflow ui: (http:\/\/\S+?)\/?\s/.exec(seen);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`inkflow ui exited ${code}`)));
  });
}

async function stop(child) {
  const done = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await done;
}

const result = {};
const ws = mkdtempSync(join(tmpdir(), 'inkflow-bench-ui-'));
const browser = await launchChromium();
const { context } = browser;
try {
  writeRecords(ws, 1000);
  const table = await startUi(ws);
  try {
    const paint = async () => {
      const page = await context.newPage();
      await page.goto(`${table.url}/#/runs`);
      await page.waitForFunction(() => performance.getEntriesByName('runs-table-painted').length > 0, undefined, { timeout: 30_000 });
      const ms = await page.evaluate(() => performance.getEntriesByName('runs-table-painted')[0].startTime);
      const rows = await page.locator('table.runs tbody tr').count();
      await page.close();
      if (rows !== 100) throw new Error(`runs table shows ${rows} rows, expected the first page of 100`);
      return ms;
    };
    result.runs_table_cold_server_ms = await paint();
    const warm = [];
    for (let i = 0; i < 5; i++) warm.push(await paint());
    result.runs_table_first_paint_ms = median(warm);
  } finally {
    await stop(table.child);
  }

  if (existsSync(join(ROOT, 'logs', 'runs'))) {
    const playground = await startUi(ROOT);
    try {
      const page = await context.newPage();
      await page.goto(`${playground.url}/#/playground`);
      const hasModel = await page.waitForFunction(() => window.inkflowPlayground || document.querySelector('main p.error'), undefined, { timeout: 30_000 }).then(() => page.evaluate(() => !!window.inkflowPlayground));
      if (hasModel) {
        await page.evaluate(() => window.inkflowPlayground.ready);
        await drawLetterOnPad(page);
        await page.waitForFunction(() => document.body.dataset.prediction);
        const times = await page.evaluate(() => Array.from({ length: 50 }, () => window.inkflowPlayground.predict().ms));
        result.letter_prediction_ms = median(times);
        result.letter_prediction_backend = await page.evaluate(() => window.tf.getBackend());
        result.letter_prediction_model = await page.locator('select[aria-label=model] option:checked').textContent();
      }
      await page.close();
    } finally {
      await stop(playground.child);
    }
  }
} finally {
  await browser.close();
  rmSync(ws, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
