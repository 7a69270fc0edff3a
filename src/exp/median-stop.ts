/**
 * The median stopping rule: a run whose best value so far, at some epoch, is worse
 * than the median of the earlier runs' best values at that same epoch is stopped.
 */
import type { Goal, MedianStopRule } from './sweep.js';

export class MedianStopper {
  /** Best-so-far curve of each run, by the order in which runs started. */
  private readonly curves = new Map<number, number[]>();
  readonly goal: Goal;
  readonly stage: string | undefined;
  readonly metric: string;

  constructor(readonly rule: MedianStopRule) {
    const dot = rule.metric.lastIndexOf('.');
    this.stage = dot > 0 ? rule.metric.slice(0, dot) : undefined;
    this.metric = dot > 0 ? rule.metric.slice(dot + 1) : rule.metric;
    this.goal = rule.goal ?? (/loss|error/.test(this.metric) ? 'minimize' : 'maximize');
  }

  /** Seeds the rule with a finished run's curve (values by epoch). */
  addCurve(order: number, values: number[]): void {
    this.curves.set(order, bestSoFar(values, this.goal));
  }

  /**
   * Records run `order`'s value at `epoch` (1-based) of `stage`; returns why it should
   * stop, or undefined to let it go on.
   */
  observe(order: number, stage: string, epoch: number, metrics: Record<string, number>): string | undefined {
    if (this.stage !== undefined && stage !== this.stage) return undefined;
    const value = metrics[this.metric];
    if (value === undefined || !Number.isFinite(value)) return undefined;
    const curve = this.curves.get(order) ?? [];
    const previous = curve[epoch - 2];
    curve[epoch - 1] = previous === undefined ? value : better(this.goal, value, previous) ? value : previous;
    this.curves.set(order, curve);
    if (epoch < this.rule.min_epochs) return undefined;
    const earlier = [...this.curves].flatMap(([o, c]) => {
      const value = c[epoch - 1];
      return o < order && value !== undefined ? [value] : [];
    });
    if (earlier.length < this.rule.min_runs) return undefined;
    const median = medianOf(earlier);
    const mine = curve[epoch - 1];
    if (mine === undefined || mine === median || better(this.goal, mine, median)) return undefined;
    return `median stopping rule: best ${this.rule.metric} ${fmt(mine)} by epoch ${epoch} is worse than the median ${fmt(median)} of ${earlier.length} earlier run(s) at that epoch`;
  }
}

function better(goal: Goal, a: number, b: number): boolean {
  return goal === 'maximize' ? a > b : a < b;
}

function bestSoFar(values: number[], goal: Goal): number[] {
  const out: number[] = [];
  let best: number | undefined;
  for (const v of values) out.push((best = best !== undefined && !better(goal, v, best) ? best : v));
  return out;
}

export function medianOf(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const upper = s[mid];
  if (upper === undefined) throw new RangeError('the median of no values');
  // An even count is at least two, so mid - 1 is in range.
  return s.length % 2 ? upper : (s[mid - 1]! + upper) / 2;
}

function fmt(v: number): string {
  return Number(v.toPrecision(4)).toString();
}
