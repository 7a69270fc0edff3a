/** The training-curve charts draw only the panels their history has data for. */
import { describe, expect, it } from 'vitest';
import { compareCurvesSpec, curvesSpec, type EpochPoint } from '../src/viz/specs.js';

const titles = (spec: object) => ((spec as { hconcat: { title: string }[] }).hconcat).map((p) => p.title);
const letters: EpochPoint[] = [1, 2, 3].map((epoch) => ({ epoch, loss: 1 / epoch, val_loss: 1.2 / epoch, accuracy: 0.8, val_accuracy: 0.75, learning_rate: 1e-3 }));
// A line model's history (train-lines): CTC loss, no accuracy.
const lines: EpochPoint[] = [1, 2, 3].map((epoch) => ({ epoch, loss: 40 / epoch, val_loss: 45 / epoch, learning_rate: 1e-3 }));

describe('training curve specs', () => {
  it('draw loss and accuracy for a history that has both', () => {
    expect(titles(curvesSpec(letters))).toEqual(['Loss per epoch', 'Accuracy per epoch']);
    expect(titles(compareCurvesSpec([{ run: 'a', epochs: letters }, { run: 'b', epochs: lines }]))).toEqual(['Loss per epoch', 'Accuracy per epoch']);
  });

  it('leave out the accuracy panel, not draw it empty, when no run has accuracy', () => {
    expect(titles(curvesSpec(lines))).toEqual(['Loss per epoch']);
    expect(titles(compareCurvesSpec([{ run: 'a', epochs: lines }, { run: 'b', epochs: lines }]))).toEqual(['Loss per epoch']);
  });
});
