/** The shared training loop's schedule: warm-up over the first batches, per-epoch batch counts, reduce-LR and early stopping on a monitored metric. */
import { describe, expect, it } from 'vitest';
import { loadTf } from '../src/ml/tf.js';
import { fit } from '../src/ml/fit.js';

describe('fit', () => {
  it('warms the learning rate up over the first batches, takes each epoch its own batch count, reduces on plateau and stops early', async () => {
    const tf = await loadTf('cpu');
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
    const optimizer = tf.train.adam(0.01);
    const seenRates: number[] = [];
    const batchesPerEpoch: number[] = [];
    const valCer = [0.5, 0.4, 0.4, 0.4, 0.4, 0.4];
    const log: string[] = [];
    let validations = 0;
    const { history, bestEpoch } = await fit({
      model,
      optimizer,
      epochs: 6,
      learningRate: 0.01,
      warmupSteps: 4,
      beginEpoch: (epoch) => batchesPerEpoch.push(epoch + 1),
      batchesPerEpoch: (epoch) => epoch + 1,
      trainBatch: async () => {
        seenRates.push((optimizer as unknown as { learningRate: number }).learningRate);
        return { size: 2, loss: 1 };
      },
      validate: async () => ({ val_cer: valCer[validations++]! }),
      reduceLr: { monitor: 'val_cer', factor: 0.5, patience: 1, minLr: 0, minDelta: 0.001, cooldown: 0 },
      earlyStopping: { monitor: 'val_cer', patience: 3, minDelta: 0.001, restoreBestWeights: true },
      signal: new AbortController().signal,
      progress: () => undefined,
      log: (m) => log.push(m),
      unit: 'lines',
    });
    // Epoch 1 has 2 batches, epoch 2 has 3: the first four steps ramp 1/4..4/4 of the rate.
    expect(seenRates.slice(0, 5)).toEqual([0.0025, 0.005, 0.0075, 0.01, 0.01]);
    expect(batchesPerEpoch.slice(0, 3)).toEqual([2, 3, 4]);
    expect(bestEpoch).toBe(2);
    expect(history.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(history.map((e) => e.learning_rate)).toEqual([0.01, 0.01, 0.01, 0.005, 0.0025]);
    expect(log.some((m) => m.startsWith('early stopping after epoch 5'))).toBe(true);
    optimizer.dispose();
    model.dispose();
  });
});
