/**
 * Keras HDF5 (.h5) models via h5wasm: the layout Keras' `load_model` reads
 * (root attrs model_config/keras_version/backend, weights under
 * model_weights/<layer>/<weight>), and reading the files Keras writes,
 * Keras 2 or Keras 3 style configs alike.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { Tf } from './tf.js';
import { UserInputError } from '../errors.js';

async function h5() {
  const mod = (await import('h5wasm/node')).default;
  await mod.ready;
  return mod;
}

export async function saveKerasH5(model: LayersModel, path: string): Promise<void> {
  const h5wasm = await h5();
  const topology = model.toJSON(undefined, false) as { class_name: string; config: unknown; keras_version?: string; backend?: string };
  const file = new h5wasm.File(path, 'w');
  try {
    file.create_attribute('keras_version', '2.15.0');
    file.create_attribute('backend', 'tensorflow');
    file.create_attribute('model_config', JSON.stringify(withExplicitInputLayer(topology)));
    const weightsGroup = file.create_group('model_weights');
    const layerNames: string[] = [];
    for (const layer of model.layers) {
      const weights = layer.weights;
      if (!weights.length) continue;
      layerNames.push(layer.name);
      const group = weightsGroup.create_group(layer.name);
      const names: string[] = [];
      const inner = group.create_group(layer.name);
      for (const w of weights) {
        const short = w.originalName.split('/').pop()!;
        names.push(`${layer.name}/${short}:0`);
        const value = w.read();
        inner.create_dataset({ name: `${short}:0`, data: value.dataSync() as Float32Array, shape: value.shape, dtype: '<f' });
      }
      group.create_attribute('weight_names', names);
    }
    weightsGroup.create_attribute('layer_names', layerNames);
    weightsGroup.create_attribute('backend', 'tensorflow');
    weightsGroup.create_attribute('keras_version', '2.15.0');
  } finally {
    file.close();
  }
}

type Json = Record<string, any>;

/**
 * tfjs puts `batch_input_shape` on the first layer; Keras 3 reads that as an
 * input shape without the batch axis. An explicit InputLayer (whose
 * batch_input_shape both Keras 2 and 3 understand) avoids the ambiguity.
 */
function withExplicitInputLayer(topology: { class_name: string; config: any }): Json {
  if (topology.class_name !== 'Sequential') return { class_name: topology.class_name, config: topology.config };
  const layers = structuredClone(topology.config.layers) as Json[];
  const first = layers[0]?.config;
  if (!first?.batch_input_shape || layers[0]?.class_name === 'InputLayer') return { class_name: topology.class_name, config: topology.config };
  const input = { class_name: 'InputLayer', config: { batch_input_shape: first.batch_input_shape, dtype: first.dtype ?? 'float32', sparse: false, name: 'input_1' } };
  delete first.batch_input_shape;
  return { class_name: 'Sequential', config: { ...topology.config, layers: [input, ...layers] } };
}

/** Keras 3 configs carry module/registered_name/build_config and dtype policies; tfjs reads Keras 2 style. */
export function toKeras2Config(value: any): any {
  if (Array.isArray(value)) return value.map(toKeras2Config);
  if (!value || typeof value !== 'object') return value;
  if (value.class_name === 'DTypePolicy' || value.class_name === 'FloatDTypePolicy') return value.config?.name ?? 'float32';
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'module' || k === 'registered_name' || k === 'build_config' || k === 'compile_config' || k === 'shared_object_id') continue;
    out[k === 'batch_shape' ? 'batch_input_shape' : k] = toKeras2Config(v);
  }
  return out;
}

function attr(obj: { attrs: Record<string, { value: unknown }> }, name: string): unknown {
  const a = obj.attrs[name];
  if (!a) return undefined;
  const v = a.value;
  return v instanceof Uint8Array ? new TextDecoder().decode(v) : v;
}

function asStrings(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  // An empty attribute (layers without weights) reads as an empty numeric array.
  if (ArrayBuffer.isView(v) && !(v instanceof Uint8Array)) return [];
  return (Array.isArray(v) ? v : [v]).map((s) => (s instanceof Uint8Array ? new TextDecoder().decode(s) : String(s)));
}

export async function loadKerasH5(tf: Tf, path: string): Promise<LayersModel> {
  const h5wasm = await h5();
  let file;
  try {
    file = new h5wasm.File(path, 'r');
  } catch (err) {
    throw new UserInputError(`${path}: not a readable HDF5 file: ${(err as Error).message}`);
  }
  try {
    const configText = attr(file as never, 'model_config');
    if (typeof configText !== 'string') throw new UserInputError(`${path}: no model_config attribute; is this a Keras model saved with model.save("….h5")?`);
    const config = toKeras2Config(JSON.parse(configText));
    const model = (await tf.models.modelFromJSON({ modelTopology: config } as never)) as LayersModel;
    const weightsGroup = (file.get('model_weights') ?? file) as any;
    const values = new Map<string, Float32Array[]>();
    for (const layerName of asStrings(attr(weightsGroup, 'layer_names'))) {
      const group = weightsGroup.get(layerName);
      values.set(layerName, asStrings(attr(group, 'weight_names')).map((w) => Float32Array.from(group.get(w).value as ArrayLike<number>)));
    }
    for (const layer of model.layers) {
      if (!layer.weights.length) continue;
      const stored = values.get(layer.name);
      if (!stored || stored.length !== layer.weights.length) {
        throw new UserInputError(`${path}: layer "${layer.name}" needs ${layer.weights.length} weight arrays, file has ${stored?.length ?? 0}`);
      }
      // Per layer: a model's weight list puts every non-trainable weight last, Keras files keep them with their layer.
      const tensors = layer.weights.map((w, i) => tf.tensor(stored[i], w.shape as number[]));
      layer.setWeights(tensors);
      tensors.forEach((t) => t.dispose());
    }
    return model;
  } finally {
    file.close();
  }
}
