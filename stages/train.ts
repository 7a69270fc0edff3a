/**
 * Trains a letter classifier with Adam and categorical cross-entropy: seeded
 * shuffling or class-balanced draws and optional augmentation feed src/ml/fit.ts,
 * which runs the epochs, LR schedule, early stopping and TensorBoard.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { defineStage, StrictObject, StringEnum, Type, type Static } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { readDataset } from '../src/data/dataset.js';
import { loadStageTf, numericEnvironment, stageBackend } from '../src/ml/numeric-environment.js';
import { saveModel } from '../src/ml/model-io.js';
import { loadModelFrom, outputClasses } from '../src/ml/model-source.js';
import { balancedDraw, gatherImages, oneHot, predictAll, samplesByClass } from '../src/ml/batches.js';
import { classificationReport } from '../src/ml/metrics.js';
import { augmentBatch } from '../src/ml/augment.js';
import { CLASSIFIER_MONITORS, earlyStoppingParams, reduceLrParams } from '../src/ml/callbacks.js';
import { fit, historyMetrics } from '../src/ml/fit.js';
import { writeTrainingHistory } from '../src/artifacts/training-history.js';
import { SummaryWriter } from '../src/ml/tensorboard.js';
import { rng, shuffle, withSeededMathRandom } from '../src/util/random.js';

const monitor = StringEnum(CLASSIFIER_MONITORS, { default: 'val_loss' });

export const trainParams = StrictObject({
  epochs: Type.Integer({ minimum: 1, default: 10 }),
  batch_size: Type.Integer({ minimum: 1, default: 128 }),
  learning_rate: Type.Number({ exclusiveMinimum: 0, default: 0.001 }),
  lr_decay: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 1, description: 'multiply the learning rate by this after every epoch (step schedule)' }),
  steps_per_epoch: Type.Optional(Type.Integer({ minimum: 1, description: 'cap on batches per epoch (quick runs)' })),
  sampling: StringEnum(['shuffle', 'balanced'], {
    default: 'shuffle',
    description: 'shuffle: every sample once per epoch; balanced: as many draws, every class equally likely (with replacement), for a class-balanced test distribution',
  }),
  seed: Type.Integer({ default: 0 }),
  reduce_lr: reduceLrParams({ patience: 1, min_delta: 1e-4 }, { monitor }),
  early_stopping: earlyStoppingParams({ patience: 3, min_delta: 1e-4 }, { monitor }),
  augment: Type.Optional(StrictObject({
    shift: Type.Number({ minimum: 0, maximum: 0.5, default: 0.1 }),
    rotate: Type.Number({ minimum: 0, maximum: 45, default: 10 }),
    scale: Type.Number({ minimum: 0, maximum: 0.5, default: 0.1 }),
  })),
});

export default defineStage<Static<typeof trainParams>>({
  description: 'train with Adam + categorical cross-entropy, LR on plateau, early stopping, TensorBoard',
  version: 1,
  environment: numericEnvironment,
  paramsSchema: trainParams,
  inputs: {
    model: { description: 'model to train (from build-model or a Keras import)', required: true },
    dataset: { description: 'training data', required: true },
    validation: { description: 'validation data for val_loss/val_accuracy, LR schedule and early stopping' },
  },
  outputs: ['model', 'history', 'tensorboard'],
  async run(ctx) {
    const p = ctx.params;
    const tf = await loadStageTf(ctx);
    const train = await readDataset(ctx.input('dataset'));
    const validation = ctx.inputs.validation ? await readDataset(ctx.inputs.validation) : undefined;
    const hasValidation = !!validation && validation.meta.count > 0;
    for (const [name, cb] of [['reduce_lr', p.reduce_lr], ['early_stopping', p.early_stopping]] as const) {
      if (cb.enabled && cb.monitor.startsWith('val_') && !hasValidation) {
        throw new UserInputError(`train: ${name} monitors ${cb.monitor} but no validation data is wired (inputs.validation), or it is empty`);
      }
    }
    const model = await loadModelFrom(tf, ctx.input('model'));
    const classes = train.meta.classes.length;
    const outputs = outputClasses(model);
    if (outputs !== classes) throw new UserInputError(`train: model predicts ${outputs} classes but the dataset has ${classes}`);
    const optimizer = tf.train.adam(p.learning_rate);
    model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

    const writer = await SummaryWriter.create(ctx.output('tensorboard'));
    const random = rng(p.seed);
    const order = Int32Array.from({ length: train.meta.count }, (_, i) => i);
    const byClass = p.sampling === 'balanced' ? samplesByClass(train.labels, classes) : undefined;
    const [h = 1, w = 1] = train.meta.sampleShape;

    const { history, bestEpoch } = await withSeededMathRandom(p.seed + 1, () => fit({
      model,
      optimizer,
      epochs: p.epochs,
      batchesPerEpoch: Math.min(Math.ceil(train.meta.count / p.batch_size), p.steps_per_epoch ?? Infinity),
      learningRate: p.learning_rate,
      lrDecay: p.lr_decay,
      reduceLr: p.reduce_lr.enabled ? { monitor: p.reduce_lr.monitor, factor: p.reduce_lr.factor, patience: p.reduce_lr.patience, minLr: p.reduce_lr.min_lr, minDelta: p.reduce_lr.min_delta, cooldown: p.reduce_lr.cooldown } : undefined,
      earlyStopping: p.early_stopping.enabled ? { monitor: p.early_stopping.monitor, patience: p.early_stopping.patience, minDelta: p.early_stopping.min_delta, restoreBestWeights: p.early_stopping.restore_best_weights } : undefined,
      beginEpoch: () => (byClass ? balancedDraw(order, byClass, random) : shuffle(order, random)),
      trainBatch: async (b) => {
        const idx = order.subarray(b * p.batch_size, Math.min((b + 1) * p.batch_size, order.length));
        let pixels = gatherImages(train, idx);
        if (p.augment) pixels = augmentBatch(pixels, idx.length, h, w, p.augment, random);
        const x = tf.tensor(pixels, [idx.length, ...train.meta.sampleShape]);
        const y = tf.tensor2d(oneHot(Array.from(idx, (i) => train.labels[i] ?? 0), classes), [idx.length, classes]);
        const [loss = Number.NaN, accuracy = Number.NaN] = (await model.trainOnBatch(x, y)) as number[];
        x.dispose();
        y.dispose();
        return { size: idx.length, loss, metrics: { accuracy } };
      },
      validate: validation && hasValidation
        ? async () => {
          const { loss, accuracy } = classificationReport(await predictAll(tf, model, validation, 1024), validation.labels, validation.meta.classes);
          return { val_loss: loss, val_accuracy: accuracy };
        }
        : undefined,
      tensorboard: writer,
      signal: ctx.signal,
      progress: (message) => ctx.progress.update(message),
      log: (message) => ctx.log.info(message),
      epoch: (epoch, metrics) => ctx.reportEpoch(epoch, metrics),
    }));
    ctx.recordMetrics(historyMetrics(history));
    await writeTrainingHistory(ctx.output('history'), { epochs: history, best_epoch: bestEpoch, backend: stageBackend(ctx) });
    await saveModel(tf, model, ctx.output('model'));
    // TensorBoard is pointed at logs/: keep a copy of this run's events there too.
    await mkdir(join(ctx.logDir, 'tensorboard'), { recursive: true });
    await copyFile(writer.file, join(ctx.logDir, 'tensorboard', basename(writer.file)));
    model.dispose();
  },
});

