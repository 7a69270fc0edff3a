/**
 * Trains a line model with CTC: width-bucketed batches, line augmentation,
 * Adam with warm-up, learning-rate reduction and early stopping on validation
 * CER, TensorBoard, seeded. Starts from any line model, so it also fine-tunes
 * a trained one on a user's own hand.
 */
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { writeTrainingHistory } from '../src/artifacts/training-history.js';
import { basename, join } from 'node:path';
import { defineStage } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { readLineDataset } from '../src/lines/line-dataset.js';
import { describeCharacters, outsideCharset } from '../src/lines/charset.js';
import { loadLineModel, saveLineModel } from '../src/lines/line-model-artifact.js';
import { lineTrainParams, trainLineModel, type LineTrainOptions } from '../src/lines/line-trainer.js';
import { describeRuleErasure, ruleErasureOf, withRuleErasure } from '../src/lines/line-rules.js';
import { loadStageTf, numericEnvironment, stageBackend } from '../src/ml/numeric-environment.js';
import { withSeededMathRandom } from '../src/util/random.js';

export default defineStage<LineTrainOptions>({
  description: 'train a line model with CTC (augmentation, LR reduction and early stopping on validation CER, TensorBoard)',
  version: 2,
  environment: numericEnvironment,
  paramsSchema: lineTrainParams,
  inputs: {
    model: { description: 'line model to train (from build-line-model, or a trained one to fine-tune)', required: true },
    dataset: { description: 'training lines', required: true },
    validation: { description: 'validation lines: val_cer drives LR reduction and early stopping' },
  },
  outputs: ['model', 'history', 'tensorboard'],
  async run(ctx) {
    const p = ctx.params;
    const tf = await loadStageTf(ctx);
    const { model, meta } = await loadLineModel(tf, ctx.input('model'));
    const train = await readLineDataset(ctx.input('dataset'));
    const validation = ctx.inputs.validation ? await readLineDataset(ctx.inputs.validation) : undefined;
    for (const [name, ds] of [['dataset', train], ['validation', validation]] as const) {
      if (ds && ds.meta.height !== meta.height) throw new UserInputError(`train-lines: the ${name} lines are ${ds.meta.height} px high but the model reads ${meta.height}; set load-lines' height to ${meta.height} (or build the model for ${ds.meta.height})`);
    }
    const eraseRules = ruleErasureOf(train.meta);
    const validationErasure = validation ? ruleErasureOf(validation.meta) : eraseRules;
    if (validationErasure !== eraseRules) throw new UserInputError(`train-lines: the training lines were loaded with ${describeRuleErasure(eraseRules)} but the validation lines with ${describeRuleErasure(validationErasure)}; set erase_rules alike in the load-lines stages that feed train-lines' dataset and validation inputs`);
    const modelErasure = meta.erase_rules === undefined ? undefined : ruleErasureOf(meta);
    if (modelErasure !== undefined && modelErasure !== eraseRules) ctx.log.warn(`the model was trained on lines with ${describeRuleErasure(modelErasure)}, and these lines have ${describeRuleErasure(eraseRules)}: from now on it reads lines as these are`);
    const outside = outsideCharset(meta.charset, train.lines.map((l) => l.text));
    if (outside.length) throw new UserInputError(`train-lines: the training texts use characters the model's charset lacks: ${describeCharacters(outside)}; build the model from a charset of these texts, or map the characters in load-lines' text.map`);
    if ((p.reduce_lr.enabled || p.early_stopping.enabled) && !validation) ctx.log.warn('no validation lines wired: learning-rate reduction and early stopping are off');
    const tensorboard = ctx.output('tensorboard');
    const { history, bestEpoch } = await withSeededMathRandom(p.seed + 1, () =>
      trainLineModel(tf, model, meta, train, validation, p, tensorboard, {
        progress: (m) => ctx.progress.update(m),
        log: (m) => ctx.log.info(m),
        epoch: (epoch, metrics) => ctx.reportEpoch(epoch, metrics),
        signal: ctx.signal,
      }),
    );
    const best = history.find((e) => e.epoch === bestEpoch) ?? history[history.length - 1]!;
    ctx.recordMetrics({
      epochs: history.length,
      loss: history[history.length - 1]!.loss,
      ...(best.val_cer !== undefined ? { val_cer: best.val_cer, val_loss: best.val_loss! } : {}),
      lines_per_second: history.reduce((s, e) => s + e.images_per_second, 0) / history.length,
    });
    await writeTrainingHistory(ctx.output('history'), { epochs: history, best_epoch: bestEpoch, backend: stageBackend(ctx) });
    // The model reads lines as it was trained on them: `inkflow read` erases rules when these lines had them erased.
    await saveLineModel(tf, model, withRuleErasure(meta, eraseRules), ctx.output('model'));
    await mkdir(join(ctx.logDir, 'tensorboard'), { recursive: true });
    for (const f of await readdir(tensorboard)) await copyFile(join(tensorboard, f), join(ctx.logDir, 'tensorboard', basename(f)));
    model.dispose();
  },
});
