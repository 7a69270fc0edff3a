/**
 * Sweeps: a sweep file (or `--set a=1,2` lists) → the list of variants to run.
 * A variant is a set of `stage.param=value` overrides on one pipeline.
 */
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validateAt } from '../engine/ajv.js';
import { NamedMap, OneOf, StrictObject, StringEnum, Type, type Static, type TSchema } from '../engine/schema.js';
import { YamlSource } from '../engine/yaml-source.js';
import { ConfigError, type Diagnostic } from '../errors.js';
import { rng } from '../util/random.js';

const GOALS = ['maximize', 'minimize'] as const;
export type Goal = (typeof GOALS)[number];

const PARAM_NAME = '^([a-z][a-z0-9_-]*|params)\\.[A-Za-z0-9_]+$';
const range = <T extends TSchema>(items: T) => Type.Tuple([items, items]);
const count = Type.Optional(Type.Integer({ minimum: 1 }));
const nonEmpty = Type.Array(Type.Unknown(), { minItems: 1 });

/** One swept param: explicit values, or a range to sample (random) or to space evenly (grid, with `count`). */
const paramSpecSchema = OneOf([
  nonEmpty,
  StrictObject({ values: nonEmpty }),
  StrictObject({ choice: nonEmpty }),
  StrictObject({ uniform: range(Type.Number()), count }),
  StrictObject({ loguniform: range(Type.Number({ exclusiveMinimum: 0 })), count }),
  StrictObject({ int: range(Type.Integer()), count }),
]);
export type ParamSpec = Static<typeof paramSpecSchema>;

const medianStopSchema = StrictObject({
  type: StringEnum(['median']),
  /** A per-epoch metric, `stage.name` or just `name`. */
  metric: Type.String({ minLength: 1 }),
  goal: Type.Optional(StringEnum(GOALS)),
  /** Epochs every run gets before it can be stopped. */
  min_epochs: Type.Integer({ minimum: 1, default: 1 }),
  /** Earlier runs that must have reached an epoch before it is judged. */
  min_runs: Type.Integer({ minimum: 1, default: 2 }),
});
export type MedianStopRule = Static<typeof medianStopSchema>;

export const sweepSchema = StrictObject({
  pipeline: Type.Optional(Type.String({ description: 'pipeline file, relative to the sweep file' })),
  method: StringEnum(['grid', 'random'], { default: 'grid' }),
  seed: Type.Integer({ default: 0 }),
  parameters: NamedMap(paramSpecSchema, { namePattern: PARAM_NAME, minProperties: 1 }),
  /** Overrides every variant shares. */
  set: Type.Optional(Type.Unsafe<Record<string, unknown>>({ type: 'object', propertyNames: { pattern: PARAM_NAME } })),
  metric: Type.Optional(Type.String({ minLength: 1, description: 'final metric that ranks the runs, e.g. evaluate.balanced800_accuracy' })),
  goal: Type.Optional(StringEnum(GOALS)),
  max_runs: Type.Optional(Type.Integer({ minimum: 1 })),
  jobs: Type.Optional(Type.Integer({ minimum: 1 })),
  early_terminate: Type.Optional(medianStopSchema),
});
export type SweepSpec = Static<typeof sweepSchema>;

export interface Variant {
  name: string;
  overrides: Record<string, unknown>;
}

/** Reads and validates a sweep file; errors carry `file:line:col`. */
export async function loadSweepFile(file: string): Promise<SweepSpec> {
  const shown = relative(process.cwd(), resolve(file)) || file;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ where: shown, message: `cannot read sweep file: ${(err as Error).message}` }]);
  }
  const source = new YamlSource(shown, text);
  const syntax = source.syntaxErrors();
  if (syntax.length) throw new ConfigError(syntax);
  const raw: unknown = source.doc.toJS() ?? {};
  const diagnostics = validateAt(sweepSchema, raw, source, []);
  if (diagnostics.length) throw new ConfigError(diagnostics);
  // validateAt accepted it (and filled in the defaults), so it has the schema's shape.
  const spec = raw as SweepSpec;
  for (const [name, p] of Object.entries(spec.parameters)) {
    const bounds = rangeOf(p);
    if (bounds && bounds[0] > bounds[1]) diagnostics.push({ where: source.locate(['parameters', name]), message: `parameters.${name}: the range [${bounds.join(', ')}] runs backwards; write [low, high]` });
    if (bounds && spec.method === 'grid' && !('count' in p && p.count) && !('int' in p)) {
      diagnostics.push({ where: source.locate(['parameters', name]), message: `parameters.${name}: a grid needs a \`count\` of points for a continuous range, or use method: random` });
    }
  }
  if (diagnostics.length) throw new ConfigError(diagnostics);
  if (spec.pipeline) spec.pipeline = resolve(dirname(file), spec.pipeline);
  return spec;
}

/**
 * `--set stage.param=a,b,c` swept, `--set stage.param=x` fixed. Commas inside
 * brackets or braces belong to the value (`train.augment={shift: 0.1, rotate: 8}`).
 */
export function sweepFromSets(sets: string[], diagnostics: Diagnostic[] = []): { parameters: Record<string, unknown[]>; fixed: string[] } {
  const parameters: Record<string, unknown[]> = {};
  const fixed: string[] = [];
  for (const spec of sets) {
    const eq = spec.indexOf('=');
    if (eq < 0) {
      diagnostics.push({ where: '--set', message: `"${spec}" is not of the form <stage>.<param>=<value>[,<value>...]` });
      continue;
    }
    const values = splitTopLevel(spec.slice(eq + 1));
    if (values.length > 1) parameters[spec.slice(0, eq)] = values.map((v) => parseYaml(v) as unknown);
    else fixed.push(spec);
  }
  return { parameters, fixed };
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

function rangeOf(p: ParamSpec): [number, number] | undefined {
  if (Array.isArray(p)) return undefined;
  if ('uniform' in p) return p.uniform;
  if ('loguniform' in p) return p.loguniform;
  if ('int' in p) return p.int;
  return undefined;
}

/** The values a grid takes for one param. */
function gridValues(p: ParamSpec): unknown[] {
  if (Array.isArray(p)) return p;
  if ('values' in p) return p.values;
  if ('choice' in p) return p.choice;
  const n = p.count ?? 0;
  const even = (lo: number, hi: number) => Array.from({ length: n }, (_, i) => (n === 1 ? lo : lo + ((hi - lo) * i) / (n - 1)));
  if ('uniform' in p) return even(...p.uniform).map(tidy);
  if ('loguniform' in p) return even(Math.log(p.loguniform[0]), Math.log(p.loguniform[1])).map((v) => tidy(Math.exp(v)));
  const [lo, hi] = p.int;
  if (!n) return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  return [...new Set(even(lo, hi).map(Math.round))];
}

function sample(p: ParamSpec, random: () => number): unknown {
  if (Array.isArray(p) || 'values' in p || 'choice' in p) {
    const values = gridValues(p);
    return values[Math.floor(random() * values.length)];
  }
  if ('uniform' in p) return tidy(p.uniform[0] + random() * (p.uniform[1] - p.uniform[0]));
  if ('loguniform' in p) {
    const [lo, hi] = [Math.log(p.loguniform[0]), Math.log(p.loguniform[1])];
    return tidy(Math.exp(lo + random() * (hi - lo)));
  }
  return p.int[0] + Math.floor(random() * (p.int[1] - p.int[0] + 1));
}

/** Four significant digits: sampled values stay readable in tables and cache keys stay few. */
function tidy(v: number): number {
  return Number(v.toPrecision(4));
}

export function expandSweep(spec: Pick<SweepSpec, 'method' | 'seed' | 'parameters' | 'set' | 'max_runs'>): Variant[] {
  const swept = Object.entries(spec.parameters);
  const names = swept.map(([name]) => name);
  let combos: Record<string, unknown>[];
  if (spec.method === 'random') {
    const random = rng(spec.seed);
    combos = Array.from({ length: spec.max_runs ?? 10 }, () => Object.fromEntries(swept.map(([n, p]) => [n, sample(p, random)])));
  } else {
    combos = [{}];
    for (const [name, p] of swept) combos = combos.flatMap((c) => gridValues(p).map((v) => ({ ...c, [name]: v })));
    if (spec.max_runs) combos = combos.slice(0, spec.max_runs);
  }
  const short = shortNames(names);
  return combos.map((combo) => ({
    name: names.map((n) => `${short.get(n)}=${formatValue(combo[n])}`).join(' '),
    overrides: { ...spec.set, ...combo },
  }));
}

/** `train.learning_rate` → `learning_rate` unless two swept params share that name. */
function shortNames(names: string[]): Map<string, string> {
  const tail = (n: string) => n.slice(n.indexOf('.') + 1);
  return new Map(names.map((n) => [n, names.filter((m) => tail(m) === tail(n)).length > 1 ? n : tail(n)]));
}

export function formatValue(v: unknown): string {
  if (typeof v === 'string') return v;
  return typeof v === 'number' ? String(v) : JSON.stringify(v);
}

/** Overrides as `--set` arguments for `inkflow run`. */
export function setArgs(overrides: Record<string, unknown>): string[] {
  return Object.entries(overrides).flatMap(([k, v]) => ['--set', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`]);
}
