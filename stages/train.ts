/**
 * Trains a model with Adam and categorical cross-entropy: seeded shuffling,
 * optional augmentation, learning-rate reduction on plateau, early stopping
 * with best-weight restore, TensorBoard scalars and per-batch progress.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { defineStage, strictObject } from '../src/engine/stage-api.js';
import { throwIfCancelled, UserInputError } from '../src/errors.js';
import { readDataset, type Dataset } from '../src/data/dataset.js';
import { loadStageTf, numericEnvironment, stageBackend } from '../src/ml/numeric-environment.js';
import { saveModel } from '../src/ml/model-io.js';
import { loadModelFrom } from '../src/ml/model-source.js';
import { balancedDraw, gatherImages, oneHot, predictAll, samplesByClass } from '../src/ml/batches.js';
import { classificationReport } from '../src/ml/metrics.js';
import { augmentBatch, type AugmentOptions } from '../src/ml/augment.js';
import { EarlyStopping, ReduceLrOnPlateau, type Monitor } from '../src/ml/callbacks.js';
import { SummaryWriter } from '../src/ml/tensorboard.js';
import { rng, shuffle, withSeededMathRandom } from '../src/util/random.js';
import type { Tensor } from '@tensorflow/tfjs';

interface TrainParams {
  epochs: number;
  batch_size: number;
  learning_rate: number;
  lr_decay: number;
  steps_per_epoch?: number;
  sampling: 'shuffle' | 'balanced';
  seed: number;
  reduce_lr: { enabled: boolean; monitor: Monitor; factor: number; patience: number; min_lr: number; min_delta: number; cooldown: number };
  early_stopping: { enabled: boolean; monitor: Monitor; patience: number; min_delta: number; restore_best_weights: boolean };
  augment?: AugmentOptions;
}

const monitorSchema = { enum: ['val_loss', 'val_accuracy', 'loss', 'accuracy'] };

export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss?: number;
  val_accuracy?: number;
  learning_rate: number;
  seconds: number;
  images_per_second: number;
}

export default defineStage<TrainParams>({
  description: 'train with Adam + categorical cross-entropy, LR on plateau, early stopping, TensorBoard',
  version: 1,
  environment: numericEnvironment,
  paramsSchema: strictObject({
    properties: {
      epochs: { type: 'integer', minimum: 1, default: 10 },
      batch_size: { type: 'integer', minimum: 1, default: 128 },
      learning_rate: { type: 'number', exclusiveMinimum: 0, default: 0.001 },
      lr_decay: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 1, description: 'multiply the learning rate by this after every epoch (step schedule)' },
      steps_per_epoch: { type: 'integer', minimum: 1, description: 'cap on batches per epoch (quick runs)' },
      sampling: {
        enum: ['shuffle', 'balanced'],
        default: 'shuffle',
        description: 'shuffle: every sample once per epoch; balanced: as many draws, every class equally likely (with replacement), for a class-balanced test distribution',
      },
      seed: { type: 'integer', default: 0 },
      reduce_lr: strictObject({
        default: {},
        properties: {
          enabled: { type: 'boolean', default: true },
          monitor: { ...monitorSchema, default: 'val_loss' },
          factor: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.5 },
          patience: { type: 'integer', minimum: 0, default: 1 },
          min_lr: { type: 'number', minimum: 0, default: 1e-5 },
          min_delta: { type: 'number', minimum: 0, default: 1e-4 },
          cooldown: { type: 'integer', minimum: 0, default: 0 },
        },
      }),
      early_stopping: strictObject({
        default: {},
        properties: {
          enabled: { type: 'boolean', default: true },
          monitor: { ...monitorSchema, default: 'val_loss' },
          patience: { type: 'integer', minimum: 0, default: 3 },
          min_delta: { type: 'number', minimum: 0, default: 1e-4 },
          restore_best_weights: { type: 'boolean', default: true },
        },
      }),
      augment: strictObject({
        properties: {
          shift: { type: 'number', minimum: 0, maximum: 0.5, default: 0.1 },
          rotate: { type: 'number', minimum: 0, maximum: 45, default: 10 },
          scale: { type: 'number', minimum: 0, maximum: 0.5, default: 0.1 },
        },
      }),
    },
  }),
  inputs: {
    model: { description: 'model to train (from build-model or a Keras import)', required: true },
    dataset: { description: 'training data', required: true },
    validation: { description: 'validation data for val_loss/val_accuracy, LR schedule and early stopping' },
  },
  outputs: ['model', 'history', 'tensorboard'],
  async run(ctx) {
    const p = ctx.params;
    const tf = await loadStageTf(ctx);
    const train = await readDataset(ctx.inputs.dataset);
    const validation = ctx.inputs.validation ? await readDataset(ctx.inputs.validation) : undefined;
    const hasValidation = !!validation && validation.meta.count > 0;
    for (const cb of [p.reduce_lr, p.early_stopping]) {
      if (cb.enabled && cb.monitor.startsWith('val_') && !hasValidation) {
        throw new UserInputError(`train: ${cb === p.reduce_lr ? 'reduce_lr' : 'early_stopping'} monitors ${cb.monitor} but no validation data is wired (inputs.validation), or it is empty`);
      }
    }
    const model = await loadModelFrom(tf, ctx.inputs.model);
    const classes = train.meta.classes.length;
    if (model.outputs[0].shape[1] !== classes) throw new UserInputError(`train: model predicts ${model.outputs[0].shape[1]} classes but the dataset has ${classes}`);
    const optimizer = tf.train.adam(p.learning_rate);
    model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

    const tensorboardDir = ctx.output('tensorboard');
    const writer = await SummaryWriter.create(tensorboardDir);
    const reduceLr = new ReduceLrOnPlateau({ monitor: p.reduce_lr.monitor, factor: p.reduce_lr.factor, patience: p.reduce_lr.patience, minLr: p.reduce_lr.min_lr, minDelta: p.reduce_lr.min_delta, cooldown: p.reduce_lr.cooldown });
    const early = new EarlyStopping({ monitor: p.early_stopping.monitor, patience: p.early_stopping.patience, minDelta: p.early_stopping.min_delta });
    const random = rng(p.seed);
    const history: EpochRecord[] = [];
    let bestWeights: Tensor[] | undefined;
    let lr = p.learning_rate;
    const order = Int32Array.from({ length: train.meta.count }, (_, i) => i);
    const byClass = p.sampling === 'balanced' ? samplesByClass(train.labels, classes) : undefined;
    const batches = Math.min(Math.ceil(train.meta.count / p.batch_size), p.steps_per_epoch ?? Infinity);
    const [h, w] = train.meta.sampleShape;

    await withSeededMathRandom(p.seed + 1, async () => {
      for (let epoch = 1; epoch <= p.epochs; epoch++) {
        const started = performance.now();
        if (byClass) balancedDraw(order, byClass, random);
        else shuffle(order, random);
        let lossSum = 0;
        let accSum = 0;
        let seen = 0;
        for (let b = 0; b < batches; b++) {
          throwIfCancelled(ctx.signal);
          const idx = order.subarray(b * p.batch_size, Math.min((b + 1) * p.batch_size, order.length));
          let pixels = gatherImages(train, idx);
          if (p.augment) pixels = augmentBatch(pixels, idx.length, h, w, p.augment, random);
          const x = tf.tensor(pixels, [idx.length, ...train.meta.sampleShape]);
          const y = tf.tensor2d(oneHot(Array.from(idx, (i) => train.labels[i]), classes), [idx.length, classes]);
          const [loss, acc] = (await model.trainOnBatch(x, y)) as number[];
          x.dispose();
          y.dispose();
          if (!Number.isFinite(loss)) throw new UserInputError(`train: loss became ${loss} at epoch ${epoch} batch ${b + 1}; lower learning_rate`);
          lossSum += loss * idx.length;
          accSum += acc * idx.length;
          seen += idx.length;
          if (b % 10 === 0 || b === batches - 1) {
            const rate = seen / ((performance.now() - started) / 1000);
            ctx.progress.update(`epoch ${epoch}/${p.epochs} batch ${b + 1}/${batches} loss ${(lossSum / seen).toFixed(4)} acc ${(accSum / seen).toFixed(4)} ${rate.toFixed(0)} img/s`);
          }
          // Let signals and progress output through between batches.
          if (b % 20 === 0) await new Promise((r) => setImmediate(r));
        }
        const seconds = (performance.now() - started) / 1000;
        const record: EpochRecord = { epoch, loss: lossSum / seen, accuracy: accSum / seen, learning_rate: lr, seconds, images_per_second: seen / seconds };
        if (hasValidation) {
          const probs = await predictAll(tf, model, validation!, 1024);
          const { loss, accuracy } = classificationReport(probs, validation!.labels, validation!.meta.classes);
          Object.assign(record, { val_loss: loss, val_accuracy: accuracy });
        }
        history.push(record);
        await writer.scalars(epoch, {
          loss: record.loss,
          accuracy: record.accuracy,
          ...(record.val_loss !== undefined ? { val_loss: record.val_loss, val_accuracy: record.val_accuracy! } : {}),
          learning_rate: lr,
        });
        ctx.log.info(`epoch ${epoch}: loss ${record.loss.toFixed(4)} acc ${record.accuracy.toFixed(4)}${hasValidation ? ` val_loss ${record.val_loss!.toFixed(4)} val_acc ${record.val_accuracy!.toFixed(4)}` : ''} lr ${lr.toExponential(2)} (${seconds.toFixed(1)}s, ${record.images_per_second.toFixed(0)} img/s)`);
        const metrics = record as unknown as Record<string, number>;
        if (p.early_stopping.enabled) {
          const { improved, stop } = early.step(epoch, metrics);
          if (improved && p.early_stopping.restore_best_weights) {
            bestWeights?.forEach((t) => t.dispose());
            bestWeights = model.getWeights().map((t) => t.clone());
          }
          if (stop) {
            ctx.log.info(`early stopping after epoch ${epoch}: ${p.early_stopping.monitor} has not improved since epoch ${early.bestEpoch}`);
            break;
          }
        }
        let next = lr * p.lr_decay;
        if (p.reduce_lr.enabled) next = Math.min(next, reduceLr.step(metrics, lr));
        if (next !== lr) {
          ctx.log.info(`reducing learning rate ${lr.toExponential(2)} -> ${next.toExponential(2)}`);
          lr = next;
          (optimizer as unknown as { learningRate: number }).learningRate = lr;
        }
      }
    });
    if (bestWeights && early.bestEpoch !== history[history.length - 1].epoch) {
      ctx.log.info(`restoring weights from epoch ${early.bestEpoch}`);
      model.setWeights(bestWeights);
    }
    bestWeights?.forEach((t) => t.dispose());
    const last = history[history.length - 1];
    ctx.recordMetrics({
      epochs: history.length,
      loss: last.loss,
      accuracy: last.accuracy,
      ...(last.val_accuracy !== undefined ? { val_accuracy: Math.max(...history.map((e) => e.val_accuracy!)), val_loss: Math.min(...history.map((e) => e.val_loss!)) } : {}),
      images_per_second: history.reduce((s, e) => s + e.images_per_second, 0) / history.length,
    });
    await writeFile(ctx.output('history'), JSON.stringify({ epochs: history, best_epoch: early.bestEpoch, backend: stageBackend(ctx) }, null, 2));
    await saveModel(tf, model, ctx.output('model'));
    // TensorBoard is pointed at logs/: keep a copy of this run's events there too.
    await mkdir(join(ctx.logDir, 'tensorboard'), { recursive: true });
    await copyFile(writer.file, join(ctx.logDir, 'tensorboard', basename(writer.file)));
    model.dispose();
  },
});

