/** The training-curve charts draw only the panels their history has data for. */
import { describe, expect, it } from 'vitest';
import { compareCurvesSpec, curvesSpec, type EpochPoint } from '../src/viz/specs.js';

const titles = (spec: object) => ((spec as { hconcat: { title: string }[] }).hconcat).map((p) => p.title);
const letters: EpochPoint[] = [1, 2, 3].map((epoch) => ({ epoch, loss: 1 / epoch, val_loss: 1.2 / epoch, accuracy: 0.8, val_accuracy: 0.75, learning_rate: 1e-3 }));
// A line model's history (train-lines): CTC loss and validation CER, no accuracy.
const lines: EpochPoint[] = [1, 2, 3].map((epoch) => ({ epoch, loss: 40 / epoch, val_loss: 45 / epoch, val_cer: 0.5 / epoch, learning_rate: 1e-3 }));
const axisTitles = (spec: object) => ((spec as { hconcat: { layer: { encoding: { y: { title: string } } }[] }[] }).hconcat).map((p) => p.layer[0]!.encoding.y.title);

describe('training curve specs', () => {
  it('draw loss and accuracy for a history that has both', () => {
    expect(titles(curvesSpec(letters))).toEqual(['Loss per epoch', 'Accuracy per epoch']);
    expect(titles(compareCurvesSpec([{ run: 'a', epochs: letters }, { run: 'b', epochs: lines }]))).toEqual(['Loss per epoch', 'Accuracy per epoch', 'Character error rate per epoch']);
  });

  it('draw a line model\'s CER in place of an empty accuracy panel', () => {
    expect(titles(curvesSpec(lines))).toEqual(['Loss per epoch', 'Character error rate per epoch']);
    expect(titles(compareCurvesSpec([{ run: 'a', epochs: lines }, { run: 'b', epochs: lines }]))).toEqual(['Loss per epoch', 'Character error rate per epoch']);
  });

  it('name no loss function on the loss axis: a line model is trained with CTC, not cross-entropy', () => {
    expect(axisTitles(curvesSpec(lines))[0]).toBe('loss');
    expect(axisTitles(curvesSpec(letters))[0]).toBe('loss');
  });

  it('plot each validation CER it was given', () => {
    const cer = (curvesSpec(lines) as unknown as { hconcat: { layer: { data: { values: { split: string; value: number }[] } }[] }[] }).hconcat[1]!.layer[0]!.data.values;
    expect(cer.map((r) => [r.split, r.value])).toEqual(lines.map((e) => ['validation', e.val_cer]));
  });
});
