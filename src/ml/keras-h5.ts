/**
 * Keras HDF5 (.h5) models via h5wasm: the layout Keras' `load_model` reads
 * (root attrs model_config/keras_version/backend, weights under
 * model_weights/<layer>/<weight>), and reading the files Keras writes,
 * Keras 2 or Keras 3 style configs alike.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { Entity, Group } from 'h5wasm';
import type { Tf } from './tf.js';
import { InternalError, UserInputError } from '../errors.js';
import { columnConvAsKeras, kerasAsColumnConv, registerColumnConv } from './column-conv.js';

type H5wasm = Awaited<ReturnType<typeof h5>>;

async function h5() {
  const mod = (await import('h5wasm/node')).default;
  await mod.ready;
  return mod;
}

type Json = null | boolean | number | string | Json[] | JsonObject;
type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export async function saveKerasH5(model: LayersModel, path: string): Promise<void> {
  const h5wasm = await h5();
  const topology = model.toJSON(undefined, false);
  if (typeof topology === 'string') throw new InternalError('LayersModel.toJSON(undefined, false) returned a string');
  const file = new h5wasm.File(path, 'w');
  try {
    file.create_attribute('keras_version', '2.15.0');
    file.create_attribute('backend', 'tensorflow');
    file.create_attribute('model_config', JSON.stringify(mapLayers(withExplicitInputLayer(topology), columnConvAsKeras)));
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

/**
 * tfjs puts `batch_input_shape` on the first layer; Keras 3 reads that as an
 * input shape without the batch axis. An explicit InputLayer (whose
 * batch_input_shape both Keras 2 and 3 understand) avoids the ambiguity.
 */
function withExplicitInputLayer(topology: JsonObject): JsonObject {
  const plain: JsonObject = { class_name: topology.class_name ?? null, config: topology.config ?? null };
  const config = topology.config;
  if (topology.class_name !== 'Sequential' || !isObject(config) || !Array.isArray(config.layers)) return plain;
  const layers = structuredClone(config.layers);
  const firstLayer = layers[0];
  const first = isObject(firstLayer) ? firstLayer.config : undefined;
  if (!isObject(first) || !first.batch_input_shape || (isObject(firstLayer) && firstLayer.class_name === 'InputLayer')) return plain;
  const input = { class_name: 'InputLayer', config: { batch_input_shape: first.batch_input_shape, dtype: first.dtype ?? 'float32', sparse: false, name: 'input_1' } };
  delete first.batch_input_shape;
  return { class_name: 'Sequential', config: { ...config, layers: [input, ...layers] } };
}

/** A Sequential model config with each layer passed through `map`; other configs unchanged. */
function mapLayers(topology: Json, map: (layer: JsonObject) => object): Json {
  if (!isObject(topology) || !isObject(topology.config) || !Array.isArray(topology.config.layers)) return topology;
  const layers = topology.config.layers.map((layer) => (isObject(layer) ? (map(layer) as JsonObject) : layer));
  return { ...topology, config: { ...topology.config, layers } };
}

/** Keras 3 configs carry module/registered_name/build_config and dtype policies; tfjs reads Keras 2 style. */
export function toKeras2Config(value: Json): Json {
  if (Array.isArray(value)) return value.map(toKeras2Config);
  if (!isObject(value)) return value;
  if (value.class_name === 'DTypePolicy' || value.class_name === 'FloatDTypePolicy') return (isObject(value.config) ? value.config.name : undefined) ?? 'float32';
  const out: JsonObject = {};
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
    const configText = attr(file, 'model_config');
    if (typeof configText !== 'string') throw new UserInputError(`${path}: no model_config attribute; is this a Keras model saved with model.save("….h5")?`);
    const config = mapLayers(toKeras2Config(JSON.parse(configText) as Json), kerasAsColumnConv);
    if (!isObject(config)) throw new UserInputError(`${path}: model_config is not a JSON object; is this a Keras model?`);
    registerColumnConv(tf);
    const model = await tf.models.modelFromJSON({ modelTopology: config });
    const weightsGroup = asGroup(h5wasm, file.get('model_weights') ?? file, `${path}: model_weights`);
    const values = new Map<string, Float32Array[]>();
    for (const layerName of asStrings(attr(weightsGroup, 'layer_names'))) {
      const group = asGroup(h5wasm, weightsGroup.get(layerName), `${path}: model_weights/${layerName}`);
      values.set(layerName, asStrings(attr(group, 'weight_names')).map((w) => weightValues(h5wasm, group.get(w), `${path}: model_weights/${layerName}/${w}`)));
    }
    for (const layer of model.layers) {
      if (!layer.weights.length) continue;
      const stored = values.get(layer.name);
      if (!stored || stored.length !== layer.weights.length) {
        throw new UserInputError(`${path}: layer "${layer.name}" needs ${layer.weights.length} weight arrays, file has ${stored?.length ?? 0}`);
      }
      // Per layer: a model's weight list puts every non-trainable weight last, Keras files keep them with their layer.
      const tensors = layer.weights.map((w, i) => tf.tensor(stored[i]!, w.shape as number[])); // stored has one array per weight
      layer.setWeights(tensors);
      tensors.forEach((t) => t.dispose());
    }
    return model;
  } finally {
    file.close();
  }
}

function asGroup(h5wasm: H5wasm, entity: Entity | null, where: string): Group {
  if (!(entity instanceof h5wasm.Group)) throw new UserInputError(`${where} is not an HDF5 group; is this a Keras model saved with model.save("….h5")?`);
  return entity;
}

function weightValues(h5wasm: H5wasm, entity: Entity | null, where: string): Float32Array {
  const value = entity instanceof h5wasm.Dataset ? entity.value : undefined;
  if (!ArrayBuffer.isView(value) || value instanceof DataView || value instanceof BigInt64Array || value instanceof BigUint64Array) throw new UserInputError(`${where} is not a numeric weight array`);
  return Float32Array.from(value);
}
