// Line-model speed on one backend (random lines: speed only): CTC training and inference of the
// conv-ctc preset at 640 px, conv-ctc-context (its dilated column convolutions), the same CNN with a
// bidirectional LSTM in place of the 1-D convolutions,
// and the CTC loss alone. `node bench/line-throughput.js <backend> [batches]`
import { loadTf } from '../dist/src/ml/tf.js';
import { buildLineModel, LINE_PRESETS } from '../dist/src/lines/line-model.js';
import { ctcLoss, ctcLossAndGradient } from '../dist/src/lines/ctc-loss.js';

const [backend, batchesArg = '6'] = process.argv.slice(2);
const tf = await loadTf(backend);
const B = 16, W = 640, K = 137, L = 45;
const preset = LINE_PRESETS['conv-ctc'];
const H = preset.height;
const labels = Array.from({ length: B }, (_, b) => Int32Array.from({ length: L }, (_, i) => 1 + ((b * 7 + i * 13) % (K - 1))));
const frames = Array(B).fill(W / 4);
const x = tf.randomUniform([B, H, W, 1], 0, 1, 'float32', 1);

function cpuSeconds(fn) {
  const c = process.cpuUsage();
  const t = performance.now();
  fn();
  const u = process.cpuUsage(c);
  return { wall: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6 };
}

/** Median wall and CPU seconds of a training step, after one warm-up step. */
function trainStep(model, toLogits) {
  const optimizer = tf.train.adam(1e-3);
  const step = () => {
    const loss = optimizer.minimize(() => ctcLoss(tf, toLogits(model.apply(x, { training: true })), { labels, frames }).loss, true);
    loss.dataSync();
    loss.dispose();
  };
  step();
  const runs = Array.from({ length: Number(batchesArg) }, () => cpuSeconds(step)).sort((a, b) => a.wall - b.wall);
  return runs[runs.length >> 1];
}

const convLayers = preset.layers(H);
const conv = buildLineModel(tf, convLayers, H, K);
const flat = (y) => y.reshape([B, -1, K]);
const convTrain = trainStep(conv, flat);
const xi = tf.randomUniform([32, H, W, 1], 0, 1, 'float32', 2);
conv.predict(xi).dataSync();
const infer = cpuSeconds(() => { for (let i = 0; i < 3; i++) { const y = conv.predict(xi); y.dataSync(); y.dispose(); } });

const context = buildLineModel(tf, LINE_PRESETS['conv-ctc-context'].layers(H), H, K);
const contextTrain = trainStep(context, flat);
context.predict(xi).dataSync();
const contextInfer = cpuSeconds(() => { for (let i = 0; i < 3; i++) { const y = context.predict(xi); y.dataSync(); y.dispose(); } });

// The recurrent alternative: the same CNN up to the height fold, then a BiLSTM(128) over the columns.
const foldAt = convLayers.findIndex((l) => Array.isArray(l.kernelSize) && l.kernelSize[1] === 1) + 3;
const cnn = buildLineModel(tf, convLayers.slice(0, foldAt), H, 192);
const rnn = tf.sequential({ layers: [
  tf.layers.inputLayer({ inputShape: [H, W, 1] }),
  ...cnn.layers.filter((l) => l.getClassName() !== "InputLayer").slice(0, -1),
  tf.layers.reshape({ targetShape: [W / 4, 192] }),
  tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 128, returnSequences: true }), mergeMode: 'concat' }),
  tf.layers.dense({ units: K }),
] });
const rnnTrain = trainStep(rnn, (y) => y);

const logits = tf.randomNormal([B, W / 4, K]).dataSync();
const ctc = cpuSeconds(() => { for (let i = 0; i < 5; i++) ctcLossAndGradient(logits, [B, W / 4, K], { labels, frames }); });

process.stdout.write(JSON.stringify({
  backend, batch: B, width: W, height: H,
  conv_params: conv.countParams(), rnn_params: rnn.countParams(),
  conv_train_lines_per_second: B / convTrain.wall, conv_train_cpu_seconds_per_line: convTrain.cpu / B,
  rnn_train_lines_per_second: B / rnnTrain.wall, rnn_train_cpu_seconds_per_line: rnnTrain.cpu / B,
  conv_infer_lines_per_second: (3 * 32) / infer.wall,
  context_params: context.countParams(),
  context_train_lines_per_second: B / contextTrain.wall, context_train_cpu_seconds_per_line: contextTrain.cpu / B,
  context_infer_lines_per_second: (3 * 32) / contextInfer.wall,
  ctc_ms_per_batch: (ctc.wall / 5) * 1000,
}) + '\n');
