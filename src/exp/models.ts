/**
 * Promoted models: `models/<name>/vN/` (model/, labels.json, metrics.json,
 * run.json, promotion.json) with `models/<name>/current` pointing at the chosen
 * version. A version appears by one rename of a fully written folder, and
 * `current` moves by one rename of a new link, so readers never see half of one.
 */
import { cp, mkdir, readdir, readlink, rename, rm, symlink, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLock } from '../engine/locks.js';
import { readJsonIfExists, uniqueSuffix, writeJsonAtomic } from '../util/fs.js';
import { metricValue } from './summary.js';
import type { Goal } from './sweep.js';

export interface Gate {
  /** Metric name, exact or a unique suffix (`balanced800_accuracy`). */
  metric: string;
  goal: Goal;
  /** How much better than the champion the new model must be. */
  margin: number;
}

export interface PromoteRequest {
  modelsDir: string;
  name: string;
  /** A model folder (or file) and optionally a labels JSON file. */
  model: string;
  labels?: string;
  metrics: Record<string, number>;
  /** The run record, or what is known of the run that made the model; written as run.json. */
  source: object;
  gate?: Gate;
}

export interface PromoteResult {
  promoted: boolean;
  reason: string;
  version?: string;
  path?: string;
  champion?: { version: string; value?: number };
}

export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/i;

export async function currentVersion(modelsDir: string, name: string): Promise<{ version: string; dir: string; metrics: Record<string, number> } | undefined> {
  const version = await readlink(join(modelsDir, name, 'current')).catch(() => undefined);
  if (!version) return undefined;
  const dir = join(modelsDir, name, version);
  return { version, dir, metrics: (await readJsonIfExists<Record<string, number>>(join(dir, 'metrics.json'))) ?? {} };
}

export async function promoteModel(req: PromoteRequest): Promise<PromoteResult> {
  if (!MODEL_NAME_PATTERN.test(req.name)) throw new Error(`model name "${req.name}" must be letters, digits, "-" or "_"`);
  const home = join(req.modelsDir, req.name);
  await mkdir(home, { recursive: true });
  return withLock(join(home, '.promote'), async () => {
    const champion = await currentVersion(req.modelsDir, req.name);
    if (req.gate) {
      const value = metricValue(req.metrics, req.gate.metric);
      if (value === undefined) {
        const similar = Object.keys(req.metrics).filter((k) => k.endsWith(`.${req.gate!.metric}`));
        return { promoted: false, reason: similar.length > 1 ? `"${req.gate.metric}" is ambiguous: ${similar.join(', ')}; name one in full` : `the new model has no metric "${req.gate.metric}" (it has: ${Object.keys(req.metrics).join(', ') || 'none'})` };
      }
      const old = champion && metricValue(champion.metrics, req.gate.metric);
      if (champion && old !== undefined) {
        const gain = req.gate.goal === 'maximize' ? value - old : old - value;
        if (!(gain > req.gate.margin)) {
          return {
            promoted: false,
            champion: { version: champion.version, value: old },
            reason: `${req.gate.metric} ${fmt(value)} does not beat the current ${req.name}/${champion.version} (${fmt(old)}) by more than ${req.gate.margin}; ${req.name}/current stays ${champion.version}`,
          };
        }
      }
    }
    const versions = (await readdir(home)).map((e) => /^v(\d+)$/.exec(e)).filter(Boolean).map((m) => Number(m![1]));
    const version = `v${Math.max(0, ...versions) + 1}`;
    const staging = join(home, `.${version}.${uniqueSuffix()}.tmp`);
    try {
      await mkdir(staging);
      await cp(req.model, join(staging, 'model'), { recursive: true, dereference: true });
      if (req.labels) await copyFile(req.labels, join(staging, 'labels.json'));
      await writeJsonAtomic(join(staging, 'metrics.json'), req.metrics);
      await writeJsonAtomic(join(staging, 'run.json'), req.source);
      await writeJsonAtomic(join(staging, 'promotion.json'), {
        version,
        promotedAt: new Date().toISOString(),
        previous: champion?.version ?? null,
        gate: req.gate ?? null,
      });
      await rename(staging, join(home, version));
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
    const link = join(home, `.current.${uniqueSuffix()}`);
    await symlink(version, link, 'dir');
    await rename(link, join(home, 'current'));
    const beat = champion ? ` (was ${champion.version})` : '';
    return { promoted: true, version, path: join(home, version), champion: champion && { version: champion.version }, reason: `promoted to ${req.name}/${version}${beat}` };
  });
}

function fmt(v: number): string {
  return String(Number(v.toPrecision(4)));
}
