// Training and inference throughput of the reference CNN on one backend (random data: speed only).
import { loadTf } from '../dist/src/ml/tf.js';
import { buildModel, PRESETS } from '../dist/src/ml/architectures.js';

const [backend, trainBatches = '20'] = process.argv.slice(2);
const tf = await loadTf(backend);
const model = buildModel(tf, PRESETS['seed-cnn'], [28, 28, 1], 26);
model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
const B = Number(process.env.INKFLOW_BENCH_BATCH ?? 128);
const x = tf.randomUniform([B, 28, 28, 1]);
const y = tf.oneHot(tf.randomUniform([B], 0, 26, 'int32'), 26).toFloat();
if (backend !== 'cpu') await model.trainOnBatch(x, y);
const n = Number(trainBatches);
let t = performance.now();
for (let i = 0; i < n; i++) await model.trainOnBatch(x, y);
const train = (n * B) / ((performance.now() - t) / 1000);
// The plain-JS cpu backend is orders of magnitude slower: measure it on less.
const inferBatch = backend === 'cpu' ? 256 : 1024;
const xi = tf.randomUniform([inferBatch, 28, 28, 1]);
await model.predict(xi).data();
const reps = backend === 'cpu' ? 1 : 10;
t = performance.now();
for (let i = 0; i < reps; i++) { const p = model.predict(xi); await p.data(); p.dispose(); }
const infer = (reps * inferBatch) / ((performance.now() - t) / 1000);
process.stdout.write(JSON.stringify({ backend, train_images_per_second: train, inference_images_per_second: infer }) + '\n');
