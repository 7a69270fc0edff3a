/** Keras-style ReduceLROnPlateau and EarlyStopping, as plain state machines over epoch metrics. */
import { StrictObject, Type } from '../engine/schema.js';
import type { TProperties } from '@sinclair/typebox';
/** What a letter classifier's callbacks may watch. */
export const CLASSIFIER_MONITORS = ['val_loss', 'val_accuracy', 'loss', 'accuracy'] as const;
export type Monitor = (typeof CLASSIFIER_MONITORS)[number] | 'val_cer' | 'val_wer';

/** Losses and error rates improve downwards, accuracies upwards. */
const lowerIsBetter = (monitor: Monitor) => /(loss|cer|wer)$/.test(monitor);

function improved(monitor: Monitor, value: number, best: number, minDelta: number): boolean {
  return lowerIsBetter(monitor) ? value < best - minDelta : value > best + minDelta;
}

function initialBest(monitor: Monitor): number {
  return lowerIsBetter(monitor) ? Infinity : -Infinity;
}

export class ReduceLrOnPlateau {
  private best: number;
  private wait = 0;
  private cooldownLeft = 0;

  constructor(readonly options: { monitor: Monitor; factor: number; patience: number; minLr: number; minDelta: number; cooldown: number }) {
    this.best = initialBest(options.monitor);
  }

  /** The learning rate to use next epoch. */
  step(metrics: Readonly<Record<string, number | undefined>>, lr: number): number {
    const value = metrics[this.options.monitor];
    if (value === undefined) return lr;
    if (this.cooldownLeft > 0) this.cooldownLeft--;
    if (improved(this.options.monitor, value, this.best, this.options.minDelta)) {
      this.best = value;
      this.wait = 0;
      return lr;
    }
    if (this.cooldownLeft > 0) return lr;
    if (++this.wait >= this.options.patience) {
      this.wait = 0;
      this.cooldownLeft = this.options.cooldown;
      return Math.max(lr * this.options.factor, this.options.minLr);
    }
    return lr;
  }
}

export class EarlyStopping {
  best: number;
  bestEpoch = -1;
  private wait = 0;

  constructor(readonly options: { monitor: Monitor; patience: number; minDelta: number }) {
    this.best = initialBest(options.monitor);
  }

  /** Records an epoch; `improved` says to snapshot weights, `stop` to end training. */
  step(epoch: number, metrics: Readonly<Record<string, number | undefined>>): { improved: boolean; stop: boolean } {
    const value = metrics[this.options.monitor];
    if (value === undefined) return { improved: false, stop: false };
    if (improved(this.options.monitor, value, this.best, this.options.minDelta)) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      return { improved: true, stop: false };
    }
    return { improved: false, stop: ++this.wait >= this.options.patience };
  }
}

/** The params of ReduceLrOnPlateau as a stage declares them (plus `extra`, e.g. a monitor choice). */
export function reduceLrParams<T extends TProperties = Record<never, never>>(defaults: { patience: number; min_delta: number }, extra: T = {} as T) {
  return StrictObject({
    enabled: Type.Boolean({ default: true }),
    ...extra,
    factor: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.5 }),
    patience: Type.Integer({ minimum: 0, default: defaults.patience }),
    min_lr: Type.Number({ minimum: 0, default: 1e-5 }),
    min_delta: Type.Number({ minimum: 0, default: defaults.min_delta }),
    cooldown: Type.Integer({ minimum: 0, default: 0 }),
  }, { default: {} });
}

/** The params of EarlyStopping as a stage declares them (plus `extra`, e.g. a monitor choice). */
export function earlyStoppingParams<T extends TProperties = Record<never, never>>(defaults: { patience: number; min_delta: number }, extra: T = {} as T) {
  return StrictObject({
    enabled: Type.Boolean({ default: true }),
    ...extra,
    patience: Type.Integer({ minimum: 0, default: defaults.patience }),
    min_delta: Type.Number({ minimum: 0, default: defaults.min_delta }),
    restore_best_weights: Type.Boolean({ default: true }),
  }, { default: {} });
}
