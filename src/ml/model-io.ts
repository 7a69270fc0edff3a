/** tfjs LayersModel ⇄ a folder holding model.json and weights.bin (the tfjs "file://" layout, without tfjs-node). */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tf } from './tf.js';
import type { LayersModel, io } from '@tensorflow/tfjs';
import { DamagedFileError, readJson } from '../util/fs.js';
import { UserInputError } from '../errors.js';
import { registerColumnConv } from './column-conv.js';

export async function saveModel(tf: Tf, model: LayersModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts: io.ModelArtifacts) => {
      const weightData = artifacts.weightData instanceof ArrayBuffer ? artifacts.weightData : tf.io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer[]);
      const modelJson = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await writeFile(join(dir, 'weights.bin'), new Uint8Array(weightData));
      await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

export async function loadModel(tf: Tf, dir: string): Promise<LayersModel> {
  const json = await readJson<{ modelTopology?: unknown; weightsManifest?: unknown }>(join(dir, 'model.json')).catch((err) => {
    throw new UserInputError(`${err instanceof DamagedFileError ? err.message : `${join(dir, 'model.json')}: ${(err as Error).message}`}; save or convert the model again`);
  });
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new UserInputError(`${join(dir, 'model.json')}: not a tfjs layers model (needs modelTopology and weightsManifest); save or convert the model again`);
  }
  const buffers = await Promise.all((json.weightsManifest as { paths: string[] }[]).flatMap((g) => g.paths).map((p) => readFile(join(dir, p))));
  const weightData = tf.io.concatenateArrayBuffers(buffers.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
  const weightSpecs = (json.weightsManifest as { weights: io.WeightsManifestEntry[] }[]).flatMap((g) => g.weights);
  registerColumnConv(tf);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
}

/** Layer-by-layer summary lines and the parameter count, as Keras prints them. */
export function summarize(model: LayersModel): { lines: string[]; params: number } {
  const lines: string[] = [];
  model.summary(100, undefined, (line: string) => lines.push(line));
  return { lines, params: model.countParams() };
}
