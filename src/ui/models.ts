/**
 * Models the playground can load in the browser: every saved model a run
 * produced (save-hdf5 + write-labels) and every promoted model under models/.
 */
import { readdir, readlink, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isLineModel } from '../lines/line-model-artifact.js';
import type { RunRecords } from './records.js';
import { objectUrl } from './run-details.js';

export interface ModelEntry {
  id: string;
  label: string;
  kind: 'run' | 'promoted';
  /** A letter classifier (the drawing pad) or a CTC line model (line and page images). */
  type: 'letters' | 'line';
  /** tfjs model.json, loadable by tf.loadLayersModel. */
  modelUrl: string;
  labelsUrl?: string;
  /** The folder `inkflow read --model` accepts, relative to the workspace. */
  path: string;
  accuracy?: number;
}

export async function listModels(workspace: string, records: RunRecords): Promise<ModelEntry[]> {
  const models: ModelEntry[] = [...(await promotedModels(workspace))];
  const seen = new Set<string>();
  for (const { record } of (await records.all()).reverse()) {
    const saved = Object.values(record.stages).find((s) => s.uses === 'save-hdf5' && s.key && (s.status === 'ran' || s.status === 'cached'));
    if (!saved || seen.has(saved.key!)) continue;
    if (!(await stat(join(workspace, 'artifacts', 'objects', saved.key!.slice(0, 2), saved.key!, 'manifest.json')).catch(() => undefined))) continue;
    seen.add(saved.key!);
    const labels = Object.values(record.stages).find((s) => s.uses === 'write-labels' && s.key);
    const accuracy = Object.values(record.stages).find((s) => s.uses === 'evaluate')?.metrics?.accuracy;
    const cer = Object.values(record.stages).find((s) => s.uses === 'evaluate-lines')?.metrics?.cer;
    const tfjsDir = join(workspace, 'artifacts', 'objects', saved.key!.slice(0, 2), saved.key!, 'out', 'tfjs');
    models.push({
      id: saved.key!.slice(0, 16),
      type: isLineModel(tfjsDir) ? 'line' : 'letters',
      label: `${record.pipeline} · ${record.runId}${accuracy !== undefined ? ` · ${(accuracy * 100).toFixed(1)}%` : ''}${cer !== undefined ? ` · CER ${(cer * 100).toFixed(1)}%` : ''}`,
      kind: 'run',
      modelUrl: objectUrl(saved.key!, 'tfjs', 'model.json'),
      labelsUrl: labels ? objectUrl(labels.key!, 'labels') : undefined,
      path: join('artifacts', 'objects', saved.key!.slice(0, 2), saved.key!, 'out'),
      accuracy,
    });
  }
  return models;
}

/** models/<name>/<version>/ holding tfjs/model.json (or model.json) and labels(.json); `current` marks the promoted one. */
async function promotedModels(workspace: string): Promise<ModelEntry[]> {
  const root = join(workspace, 'models');
  const out: ModelEntry[] = [];
  for (const name of (await readdir(root).catch(() => [] as string[])).filter((n) => /^[\w.-]+$/.test(n)).sort()) {
    const current = await readlink(join(root, name, 'current')).catch(() => undefined);
    for (const version of (await readdir(join(root, name)).catch(() => [] as string[])).filter((v) => /^v\d+$/.test(v)).sort((a, b) => Number(b.slice(1)) - Number(a.slice(1)))) {
      const dir = join(root, name, version);
      const files = await listTree(dir, 3);
      const model = files.find((f) => f === 'tfjs/model.json') ?? files.find((f) => f.endsWith('model.json'));
      if (!model) continue;
      const labels = files.find((f) => /(^|\/)labels(\.json)?$/.test(f));
      const isCurrent = current !== undefined && current.replace(/\/$/, '').endsWith(version);
      out.push({
        id: `${name}@${version}`,
        type: isLineModel(join(dir, dirname(model))) ? 'line' : 'letters',
        label: `${name} ${version}${isCurrent ? ' (current)' : ''}`,
        kind: 'promoted',
        modelUrl: `/models/${name}/${version}/${model}`,
        labelsUrl: labels ? `/models/${name}/${version}/${labels}` : undefined,
        path: join('models', name, version, model.replace(/\/?model\.json$/, '')),
      });
    }
  }
  return out;
}

async function listTree(dir: string, depth: number, prefix = ''): Promise<string[]> {
  if (depth < 0) return [];
  const entries = await readdir(join(dir, prefix), { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory() || e.isSymbolicLink()) out.push(...(await listTree(dir, depth - 1, rel)));
    if (e.isFile()) out.push(rel);
  }
  return out;
}
