import { resolve } from 'node:path';
import { workspacePaths } from '../../engine/workspace.js';
import { findRun, type RunRecord } from '../../engine/run-record.js';
import { renderChartsPng, type ChartPanel } from '../../exp/charts.js';
import { writeFileAtomic } from '../../util/fs.js';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { workspaceRoot } from './common.js';

const HELP = `usage: inkflow plots diff <run> <run>... [--metric <name>]... [--out curves.png]

Overlays the per-epoch curves of several runs in one PNG, one panel per metric.
  --metric   a per-epoch metric, e.g. val_accuracy or train.loss (repeatable;
             default: every metric the runs' curves share, learning rate last)
  --out      where to write the PNG (default plots-diff.png)`;

export async function plotsCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('plots', args, { metric: { type: 'string', multiple: true }, out: { type: 'string' } }, HELP);
  if (!parsed) return 0;
  const [sub, ...refs] = parsed.positionals;
  if (sub !== 'diff') throw new UsageError(`plots: unknown command "${sub ?? ''}"\n\n${HELP}`);
  if (!refs.length) throw new UsageError(`plots diff: name one or more runs\n\n${HELP}`);
  const runsDir = workspacePaths(workspaceRoot()).runs;
  const runs = await Promise.all(refs.map((ref) => findRun(runsDir, ref)));
  const curves = runs.map(curvesOf);
  const available = [...new Set(curves.flatMap((c) => [...c.keys()]))];
  if (!available.length) throw new UsageError(`plots diff: none of these runs recorded per-epoch metrics (stages report them with ctx.reportEpoch)`);
  const wanted = parsed.values.metric ?? defaultMetrics(available, curves);
  const panels: ChartPanel[] = wanted.map((name) => {
    const key = resolveCurve(name, available);
    return {
      title: `${key} per epoch`,
      xLabel: 'epoch',
      yLabel: key,
      integerX: true,
      series: runs.map((run, i) => ({ name: runLabel(run, runs), points: curves[i]?.get(key) ?? [] })).filter((s) => s.points.length),
    };
  });
  const out = resolve(parsed.values.out ?? 'plots-diff.png');
  await writeFileAtomic(out, await renderChartsPng(panels));
  process.stdout.write(`${out}\n`);
  return 0;
}

/** `stage.metric` → [epoch, value] points, from every stage that reported epochs. */
function curvesOf(run: RunRecord): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const [stage, record] of Object.entries(run.stages)) {
    for (const point of record.epochs ?? []) {
      for (const [k, v] of Object.entries(point)) {
        if (k === 'epoch' || typeof v !== 'number') continue;
        const key = `${stage}.${k}`;
        out.set(key, [...(out.get(key) ?? []), [point.epoch, v]]);
      }
    }
  }
  return out;
}

function defaultMetrics(available: string[], curves: Map<string, unknown>[]): string[] {
  const shared = available.filter((k) => curves.every((c) => c.has(k)));
  const pick = shared.length ? shared : available;
  return [...pick.filter((k) => !k.endsWith('learning_rate')), ...pick.filter((k) => k.endsWith('learning_rate'))].slice(0, 4);
}

function resolveCurve(name: string, available: string[]): string {
  if (available.includes(name)) return name;
  const matches = available.filter((k) => k.endsWith(`.${name}`));
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  throw new UsageError(`plots diff: ${matches.length ? `"${name}" is ambiguous: ${matches.join(', ')}` : `no per-epoch metric "${name}"; the runs have: ${available.join(', ')}`}`);
}

function runLabel(run: RunRecord, all: RunRecord[]): string {
  const name = run.experiment?.name;
  const duplicate = name && all.filter((r) => r.experiment?.name === name).length > 1;
  return name && !duplicate ? name : run.runId;
}
