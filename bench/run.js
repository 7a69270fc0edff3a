#!/usr/bin/env node
// `npm run bench [-- --only noop,throughput,peer,dvc,letters,decode,pages,linespeed,lines,read,ui,sweep,runs,remote,workers] [--cold] [--workspace DIR] [--line-model DIR]`
// Measures inkflow's speed and result targets; writes bench/results.json and prints a table.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'inkflow.js');
const PY = join(ROOT, '.venv', 'bin', 'python');
const DATA = process.env.INKFLOW_DATA_DIR ?? join(ROOT, '..', 'shared', 'data');
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : ['noop', 'throughput', 'peer', 'dvc', 'letters', 'decode', 'pages', 'linespeed', 'lines', 'read', 'ui', 'verify', 'deep', 'sweep', 'runs', 'remote', 'workers'];
const cold = args.includes('--cold');
// Where finished runs are read from (their records and artifacts): this checkout unless --workspace says otherwise.
const WORKSPACE = args.includes('--workspace') ? args[args.indexOf('--workspace') + 1] : ROOT;
const rows = [];
const results = { date: new Date().toISOString(), node: process.version, machine: `${process.platform}-${process.arch}`, results: {} };
const add = (name, value, unit, target, ok) => rows.push({ name, value, unit, target: target ?? '', verdict: ok === undefined ? '' : ok ? 'met' : 'MISSED' });

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28, ...options });
  if (r.status !== 0 && !options.allowFail) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r;
}
function median(xs) { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }
function timeIt(fn, n) { const times = []; for (let i = 0; i < n; i++) { const t = process.hrtime.bigint(); fn(); times.push(Number(process.hrtime.bigint() - t) / 1e9); } return median(times); }
function log(msg) { process.stderr.write(`[bench] ${msg}\n`); }
function latestRun(pipeline, predicate = () => true, root = WORKSPACE) {
  const dir = join(root, 'logs', 'runs');
  if (!existsSync(dir)) return undefined;
  return readdirSync(dir).sort().reverse().map((id) => join(dir, id, 'run.json')).filter(existsSync).map((f) => JSON.parse(readFileSync(f, 'utf8'))).find((r) => r.pipeline === pipeline && predicate(r));
}

if (only.includes('noop')) {
  const status = JSON.parse(run('node', [CLI, 'status', 'pipelines/letters.yaml', '--json']).stdout);
  if (status.every((s) => s.state === 'cached')) {
    const seconds = timeIt(() => run('node', [CLI, 'run', 'pipelines/letters.yaml', '--plain']), 7);
    results.results.noop_seconds = seconds;
    // Every cache hit checks each cached file's size and modification stamp before trusting it.
    add('no-op run of letters.yaml (whole process, size+stamp check of every cached file)', seconds.toFixed(3), 's', '≤ 0.5 s', seconds <= 0.5);
  } else {
    log('letters.yaml is not fully cached: run `npx inkflow run pipelines/letters.yaml` first to measure the no-op run');
    add('no-op run of letters.yaml', 'n/a', '', '≤ 0.5 s (needs a cached run)');
  }
}

if (only.includes('verify')) {
  const status = JSON.parse(run('node', [CLI, 'status', 'pipelines/letters.yaml', '--json']).stdout);
  if (status.every((s) => s.state === 'cached')) {
    const t = process.hrtime.bigint();
    const r = run('node', [CLI, 'verify'], { allowFail: true });
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const bytes = duBytes(join(ROOT, 'artifacts', 'objects'));
    const speed = bytes / 1e6 / seconds;
    Object.assign(results.results, { verify_seconds: seconds, verify_bytes: bytes, verify_mb_per_second: speed, verify_ok: r.status === 0 });
    add(`inkflow verify of the store with letters (${(bytes / 2 ** 30).toFixed(2)} GiB, whole process)`, speed.toFixed(0), 'MB/s', r.status === 0 ? '' : 'store has problems: see inkflow verify');
  } else {
    log('letters.yaml is not fully cached: run `npx inkflow run pipelines/letters.yaml` first to measure verify');
    add('inkflow verify of the letters store', 'n/a', '', '(needs a cached letters run)');
  }
}

if (only.includes('deep')) {
  // Validation must be linear in the number of stages: 10x the stages should cost about 10x the time.
  const dir = mkdtempSync(join(tmpdir(), 'inkflow-deep-'));
  cpSync(join(ROOT, 'test', 'fixtures', 'stages'), join(dir, 'stages'), { recursive: true });
  const timeChain = (n) => {
    const lines = ['name: deep', 'stages:'];
    for (let i = 0; i < n; i++) lines.push(`  s${i}:`, '    uses: ./stages/emit.ts', `    params: { text: "${i % 10}" }`, ...(i ? [`    inputs: { upstream: s${i - 1}.text }`] : []));
    writeFileSync(join(dir, `p${n}.yaml`), lines.join('\n') + '\n');
    const t = process.hrtime.bigint();
    run('node', [CLI, 'run', `p${n}.yaml`, '--dry-run', '--json'], { cwd: dir });
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  const base = timeChain(100);
  const small = timeChain(10_000) - base;
  const large = timeChain(100_000) - base;
  Object.assign(results.results, { deep_10k_seconds: small, deep_100k_seconds: large });
  add('validate + dry-run of a 100,000-stage chain (minus startup)', large.toFixed(1), 's');
  add('100,000 / 10,000 stages time ratio (linear = 10)', (large / small).toFixed(1), 'x', '≤ 15x', large / small <= 15);
}

if (only.includes('dvc')) {
  const dvc = join(ROOT, '.venv', 'bin', 'dvc');
  if (!existsSync(dvc) && existsSync(PY)) {
    log('installing dvc into .venv for the comparison');
    run(PY, ['-m', 'pip', 'install', '--quiet', 'dvc'], { allowFail: true });
  }
  if (existsSync(dvc)) {
    const dir = mkdtempSync(join(tmpdir(), 'dvc-bench-'));
    writeFileSync(join(dir, 'data.txt'), 'x\n');
    const stages = Array.from({ length: 10 }, (_, i) => `  s${i}:\n    cmd: cp ${i ? `out${i - 1}.txt` : 'data.txt'} out${i}.txt\n    deps: [${i ? `out${i - 1}.txt` : 'data.txt'}]\n    outs: [out${i}.txt]\n`).join('');
    writeFileSync(join(dir, 'dvc.yaml'), `stages:\n${stages}`);
    run('git', ['init', '-q'], { cwd: dir });
    run(dvc, ['init', '-q'], { cwd: dir });
    run(dvc, ['repro', '-q'], { cwd: dir });
    const seconds = timeIt(() => run(dvc, ['repro', '-q'], { cwd: dir }), 5);
    results.results.dvc_noop_seconds = seconds;
    add('peer: `dvc repro` no-op, 10 stages', seconds.toFixed(3), 's');
  } else add('peer: dvc repro no-op', 'n/a', '', 'dvc not installable');
}

if (only.includes('throughput')) {
  for (const backend of ['wasm', 'cpu', 'tensorflow']) {
    const r = run('node', [join(ROOT, 'bench', 'throughput.js'), backend, backend === 'cpu' ? '1' : '30'], { allowFail: true, env: { ...process.env, INKFLOW_BACKEND: backend } });
    if (r.status !== 0) { add(`reference CNN train on ${backend}`, 'n/a', '', 'backend not available here'); continue; }
    const m = JSON.parse(r.stdout.trim().split('\n').pop());
    results.results[`throughput_${backend}`] = m;
    add(`reference CNN training, ${backend}, batch 128`, m.train_images_per_second.toFixed(0), 'img/s', backend === 'wasm' ? '≥ 1,500' : '', backend === 'wasm' ? m.train_images_per_second >= 1500 : undefined);
    add(`reference CNN inference, ${backend}`, m.inference_images_per_second.toFixed(0), 'img/s');
  }
}

if (only.includes('peer')) {
  const { nativeTensorflowAvailable } = await import('../dist/src/ml/backend-name.js');
  const backends = ['wasm', ...(nativeTensorflowAvailable() ? ['tensorflow'] : [])];
  const ours = {};
  for (const backend of backends) {
    run('node', [CLI, 'run', 'bench/pipelines/peer.yaml', '--plain', '--from', 'build-model'], { env: { ...process.env, INKFLOW_BACKEND: backend, TF_CPP_MIN_LOG_LEVEL: '2' } });
    const history = JSON.parse(readFileSync(join(ROOT, 'artifacts/peer/train/history'), 'utf8'));
    const metrics = JSON.parse(readFileSync(join(ROOT, 'artifacts/peer/evaluate/report/metrics.json'), 'utf8'));
    ours[backend] = { train: history.epochs[0].images_per_second, infer: metrics.inference_images_per_second, accuracy: metrics.accuracy };
    results.results[`peer_inkflow_${backend}`] = ours[backend];
    add(`inference on 20,800 balanced800 images, ${backend}`, ours[backend].infer.toFixed(0), 'img/s', backend === 'wasm' ? '≥ 5,000' : '', backend === 'wasm' ? ours[backend].infer >= 5000 : undefined);
  }
  if (existsSync(PY)) {
    const k = JSON.parse(run(PY, [join(ROOT, 'bench', 'keras_peer.py'), 'artifacts/peer/reshape-train/dataset/images.npy', 'artifacts/peer/reshape-train/dataset/labels.npy', 'artifacts/peer/reshape-test/dataset/images.npy', 'artifacts/peer/reshape-test/dataset/labels.npy', '1', '128'], { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } }).stdout.trim().split('\n').pop());
    results.results.peer_keras = k;
    add('peer: Keras (TF CPU) training, same recipe', k.train_images_per_second.toFixed(0), 'img/s');
    add('peer: Keras inference', k.inference_images_per_second.toFixed(0), 'img/s');
    for (const backend of backends) {
      const goal = backend === 'wasm' ? 0.5 : 0.9;
      add(`inkflow ${backend} / Keras training throughput`, (ours[backend].train / k.train_images_per_second).toFixed(2), 'x', `≥ ${goal}x`, ours[backend].train / k.train_images_per_second >= goal);
      add(`accuracy after 1 epoch: inkflow ${backend} vs Keras`, `${(ours[backend].accuracy * 100).toFixed(2)} vs ${(k.accuracy * 100).toFixed(2)}`, '%', 'within 0.3 points', Math.abs(ours[backend].accuracy - k.accuracy) <= 0.003);
    }
  }
}

if (only.includes('letters')) {
  let runRoot = WORKSPACE;
  if (cold) {
    const ws = mkdtempSync(join(tmpdir(), 'inkflow-cold-'));
    runRoot = ws;
    cpSync(join(ROOT, 'pipelines'), join(ws, 'pipelines'), { recursive: true });
    log(`cold run of letters.yaml in ${ws} (about 20 minutes)`);
    const t = Date.now();
    run('/usr/bin/time', ['-v', 'node', CLI, 'run', 'pipelines/letters.yaml', '--plain'], { cwd: ws, env: { ...process.env, INKFLOW_DATA_DIR: process.env.INKFLOW_DATA_DIR ?? join(ROOT, '..', 'shared', 'data') } });
    results.results.letters_cold_seconds = (Date.now() - t) / 1000;
    results.results.letters_source = ws;
    results.results.letters_store_bytes = duBytes(join(ws, 'artifacts'));
  }
  const record = latestRun('letters', (r) => r.ok && r.stages.train?.status === 'ran', runRoot);
  if (record) {
    const seconds = cold ? results.results.letters_cold_seconds : (Date.parse(record.finishedAt) - Date.parse(record.startedAt)) / 1000;
    const peak = Math.max(...Object.values(record.stages).map((s) => s.peakRssBytes ?? 0));
    const ev = record.stages.evaluate.metrics;
    const scans = record.stages['evaluate-scans']?.metrics;
    const objectDirs = Object.values(record.stages).map((s) => s.key).filter(Boolean).map((k) => join(runRoot, 'artifacts', 'objects', k.slice(0, 2), k)).filter(existsSync);
    const store = results.results.letters_store_bytes ?? duBytes(...objectDirs);
    Object.assign(results.results, { letters_run: record.runId, letters_seconds: seconds, letters_accuracy: ev.accuracy, letters_balanced800: ev.balanced800_accuracy, letters_scans: scans?.accuracy, letters_peak_rss: peak, letters_store_bytes: store });
    // Only --cold measures a run from nothing; otherwise the latest training run may have reused cached data stages.
    add(cold ? 'letters.yaml cold wall time (measured now)' : `letters.yaml wall time of run ${record.runId} (cold only if nothing was cached; --cold for that)`, (seconds / 60).toFixed(1), 'min', '≤ 20 min', seconds <= 1200);
    add('letters: accuracy on balanced800', (ev.balanced800_accuracy * 100).toFixed(2), '%', '≥ 94.0 %', ev.balanced800_accuracy >= 0.94);
    add('letters: accuracy on the whole test set', (ev.accuracy * 100).toFixed(2), '%');
    if (scans) add('letters: accuracy on chars62-scans letters (case-merged)', (scans.accuracy * 100).toFixed(2), '%');
    add('letters: peak memory (RSS)', (peak / 2 ** 30).toFixed(2), 'GiB', '≤ 4 GB', peak <= 4e9);
    add('artifact store size of the letters run', (store / 2 ** 30).toFixed(2), 'GiB', '≤ 2 GB', store <= 2e9);
  } else add('letters.yaml results', 'n/a', '', 'run the pipeline first (or --cold)');
}

if (only.includes('decode')) {
  const r = run('node', [join(ROOT, 'bench', 'decode.js'), '200'], { allowFail: true });
  if (r.status !== 0) add('line decoding', 'n/a', '', `bench/decode.js failed: ${r.stderr.trim().split('\n').pop()}`);
  else {
    const m = JSON.parse(r.stdout.trim().split('\n').pop());
    results.results.decode = m;
    for (const d of m.results) add(`decode a line (T≈${Math.round(m.mean_frames)}, K=${m.K}): ${d.name}, CPU`, d.cpu_ms_per_line.toFixed(2), 'ms', '≤ 5 ms (a part of ≥ 50 lines/s)', d.cpu_ms_per_line <= 5);
  }
}

if (only.includes('linespeed')) {
  for (const backend of ['wasm', 'tensorflow']) {
    const r = run('node', [join(ROOT, 'bench', 'line-throughput.js'), backend, '5'], { allowFail: true, env: { ...process.env, INKFLOW_BACKEND: backend, TF_CPP_MIN_LOG_LEVEL: '2' } });
    if (r.status !== 0) { add(`line model training on ${backend}`, 'n/a', '', 'backend not available here'); continue; }
    const m = JSON.parse(r.stdout.trim().split('\n').pop());
    results.results[`line_throughput_${backend}`] = m;
    add(`conv-ctc training, ${backend}, 16 lines of 640 px`, m.conv_train_lines_per_second.toFixed(1), 'lines/s');
    add(`  its CPU time per line (2 cores free: ≈ 2/x lines/s)`, m.conv_train_cpu_seconds_per_line.toFixed(3), 's');
    add(`same CNN + BiLSTM(128), ${backend}: CPU time per line`, m.rnn_train_cpu_seconds_per_line.toFixed(3), 's', 'conv must be cheaper', m.rnn_train_cpu_seconds_per_line > m.conv_train_cpu_seconds_per_line);
    add(`conv-ctc inference, ${backend}`, m.conv_infer_lines_per_second.toFixed(1), 'lines/s');
    add(`conv-ctc-context training, ${backend}: CPU time per line`, m.context_train_cpu_seconds_per_line.toFixed(3), 's');
    add(`conv-ctc-context inference, ${backend}`, m.context_infer_lines_per_second.toFixed(1), 'lines/s');
    add(`CTC loss + gradient, 16 × 160 frames, ${backend}`, m.ctc_ms_per_batch.toFixed(1), 'ms');
  }
}

if (only.includes('lines')) {
  let runRoot = WORKSPACE;
  if (cold) {
    const ws = mkdtempSync(join(tmpdir(), 'inkflow-lines-cold-'));
    runRoot = ws;
    cpSync(join(ROOT, 'pipelines'), join(ws, 'pipelines'), { recursive: true });
    log(`cold run of lines.yaml on wasm in ${ws} (about an hour)`);
    const t = Date.now();
    run('node', [CLI, 'run', 'pipelines/lines.yaml', '--plain'], { cwd: ws, env: { ...process.env, INKFLOW_BACKEND: 'wasm', INKFLOW_DATA_DIR: process.env.INKFLOW_DATA_DIR ?? join(ROOT, '..', 'shared', 'data') } });
    results.results.lines_cold_seconds = (Date.now() - t) / 1000;
  }
  const record = latestRun('lines', (r) => r.ok && r.stages['train-lines']?.status === 'ran', runRoot);
  if (record) {
    const seconds = cold ? results.results.lines_cold_seconds : (Date.parse(record.finishedAt) - Date.parse(record.startedAt)) / 1000;
    const peak = Math.max(...Object.values(record.stages).map((s) => s.peakRssBytes ?? 0));
    const ev = record.stages['evaluate-lines'].metrics;
    const tr = record.stages['train-lines'].metrics;
    const trContext = record.stages['train-context']?.metrics;
    const backend = record.environment?.backend ?? record.backend ?? '?';
    Object.assign(results.results, { lines_run: record.runId, lines_seconds: seconds, lines_backend: backend, lines_metrics: ev, lines_train: tr, lines_train_context: trContext, lines_peak_rss: peak });
    add(`lines.yaml wall time of run ${record.runId} (${backend}${cold ? ', cold' : ''})`, (seconds / 60).toFixed(1), 'min', '≤ 60 min on wasm', backend === 'wasm' ? seconds <= 3600 : undefined);
    add(`lines: conv-ctc training epochs, speed`, `${tr.epochs}, ${tr.lines_per_second.toFixed(1)}`, 'lines/s');
    if (trContext) add(`lines: grown conv-ctc-context training epochs, speed`, `${trContext.epochs}, ${trContext.lines_per_second.toFixed(1)}`, 'lines/s');
    add('lines: Copiste test CER, no LM, every character', (ev.cer * 100).toFixed(2), '%', '≤ 10 %', ev.cer <= 0.10);
    add('lines: Copiste test WER, no LM', (ev.wer * 100).toFixed(2), '%');
    add('lines: letters-only CER, no LM', (ev.cer_letters * 100).toFixed(2), '%');
    if (ev.cer_lm !== undefined) add('lines: CER / WER with the 6-gram LM (tuned on validation)', `${(ev.cer_lm * 100).toFixed(2)} / ${(ev.wer_lm * 100).toFixed(2)}`, '%');
    if (ev.cer_lm_lexicon !== undefined) add('lines: CER / WER with LM + training-words lexicon', `${(ev.cer_lm_lexicon * 100).toFixed(2)} / ${(ev.wer_lm_lexicon * 100).toFixed(2)}`, '%');
    add('lines: peak memory (RSS)', (peak / 2 ** 30).toFixed(2), 'GiB', '≤ 4 GB', peak <= 4e9);
  } else add('lines.yaml results', 'n/a', '', 'run pipelines/lines.yaml first (or --cold)');
  const phrases = latestRun('phrases', (r) => r.stages['evaluate-touching-lines']?.metrics, runRoot);
  if (phrases) {
    const m = phrases.stages['evaluate-touching-lines'].metrics;
    results.results.phrases_touching_lines = m;
    add('phrases: touching letters read by the line model, CER (LM)', ((m.cer_lm ?? m.cer) * 100).toFixed(2), '%', '≤ 5 %', (m.cer_lm ?? m.cer) <= 0.05);
  }
}

if (only.includes('read')) {
  // --line-model DIR reads with any trained line model (e.g. one from an experiment workspace).
  const model = args.includes('--line-model') ? args[args.indexOf('--line-model') + 1] : join(WORKSPACE, 'artifacts', 'lines', 'save', 'tfjs');
  if (existsSync(model)) {
    const tsv = readFileSync(join(DATA, 'copiste-lines', 'lines.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')).filter((r) => r[4] === 'test').slice(0, 200);
    const files = tsv.map((r) => join(DATA, 'copiste-lines', 'images', r[0]));
    const { nativeTensorflowAvailable } = await import('../dist/src/ml/backend-name.js');
    for (const backend of nativeTensorflowAvailable() ? ['wasm', 'tensorflow'] : ['wasm']) {
      const env = { ...process.env, INKFLOW_BACKEND: backend };
      const lineSeconds = timeIt(() => run('node', [CLI, 'read', '--model', model, ...files], { env }), 3);
      results.results[`read_lines_per_second_${backend}`] = files.length / lineSeconds;
      add(`inkflow read of ${files.length} line images (whole process, greedy, ${backend})`, (files.length / lineSeconds).toFixed(1), 'lines/s', '≥ 50 lines/s', files.length / lineSeconds >= 50);
      const page = join(DATA, 'copiste-pages', 'wikitexte_0007.jpg');
      const pageSeconds = timeIt(() => run('node', [CLI, 'read', '--model', model, page], { env }), 3);
      results.results[`read_page_seconds_${backend}`] = pageSeconds;
      add(`inkflow read of a whole page (find lines, read them, ${backend})`, pageSeconds.toFixed(2), 's', '≤ 3 s', pageSeconds <= 3);
    }
  } else add('inkflow read speed', 'n/a', '', 'run pipelines/lines.yaml first');
}

if (only.includes('ui')) {
  if (!existsSync(process.env.INKFLOW_CHROMIUM ?? '/usr/bin/chromium')) add('dashboard in chromium', 'n/a', '', 'install Debian\'s chromium');
  else {
    const ui = JSON.parse(run('node', ['--import', 'tsx', join(ROOT, 'bench', 'ui.js')]).stdout.trim().split('\n').pop());
    results.results.ui = ui;
    add('dashboard: runs table first paint, 1,000 runs (chromium, median of 5)', ui.runs_table_first_paint_ms.toFixed(0), 'ms', '≤ 1,000 ms', ui.runs_table_first_paint_ms <= 1000);
    add('dashboard: runs table first paint, server cache cold', ui.runs_table_cold_server_ms.toFixed(0), 'ms');
    if (ui.letter_prediction_ms === undefined) add('playground: letter prediction in the browser', 'n/a', '', '≤ 20 ms (needs a saved model: run pipelines/quick.yaml)');
    else add(`playground: letter prediction in the browser (tfjs ${ui.letter_prediction_backend}, median of 50)`, ui.letter_prediction_ms.toFixed(1), 'ms', '≤ 20 ms', ui.letter_prediction_ms <= 20);
  }
}

if (only.includes('sweep')) {
  // The same four learning rates of quick.yaml, each way in a fresh workspace: one sweep 2 at a time, and four `inkflow run`s one after another.
  const env = { ...process.env, INKFLOW_DATA_DIR: DATA };
  const rates = ['3e-4', '1e-3', '3e-3', '1e-2'];
  const fresh = () => {
    const ws = mkdtempSync(join(tmpdir(), 'inkflow-sweep-bench-'));
    cpSync(join(ROOT, 'pipelines'), join(ws, 'pipelines'), { recursive: true });
    return ws;
  };
  const wall = (fn) => { const t = process.hrtime.bigint(); fn(); return Number(process.hrtime.bigint() - t) / 1e9; };
  const seqWs = fresh();
  log(`4 sequential runs of quick.yaml in ${seqWs}`);
  const each = rates.map((lr) => wall(() => run('node', [CLI, 'run', 'pipelines/quick.yaml', '--plain', '--set', `train.learning_rate=${lr}`], { cwd: seqWs, env })));
  const sequential = each.reduce((a, b) => a + b, 0);
  const sweepWs = fresh();
  log(`the same 4 variants as one sweep, 2 at a time, in ${sweepWs}`);
  const sweep = wall(() => run('node', [CLI, 'exp', 'run', 'pipelines/quick.yaml', '--set', `train.learning_rate=${rates.join(',')}`, '--jobs', '2'], { cwd: sweepWs, env }));
  // Overhead: the sweep again with every stage cached, one at a time, against a cached `inkflow run`.
  const cachedSweep = wall(() => run('node', [CLI, 'exp', 'run', 'pipelines/quick.yaml', '--set', `train.learning_rate=${rates.join(',')}`, '--jobs', '1'], { cwd: sweepWs, env }));
  const cachedRun = timeIt(() => run('node', [CLI, 'run', 'pipelines/quick.yaml', '--plain', '--set', `train.learning_rate=${rates[0]}`], { cwd: sweepWs, env }), 3);
  const overhead = cachedSweep / rates.length - cachedRun;
  Object.assign(results.results, { sweep_seconds: sweep, sweep_sequential_seconds: sequential, sweep_first_run_seconds: each[0], sweep_overhead_seconds: overhead });
  add('quick.yaml: one cold run (the first of the four)', each[0].toFixed(1), 's');
  add('quick.yaml: 4 learning rates with no cache sharing (4 × a cold run)', (4 * each[0]).toFixed(1), 's');
  add('quick.yaml: 4 learning rates as 4 sequential `inkflow run`s, one workspace', sequential.toFixed(1), 's');
  add('quick.yaml: 4 learning rates as one `exp run --jobs 2`', sweep.toFixed(1), 's', '< the sequential runs', sweep < sequential);
  add('exp run overhead per experiment (cached sweep vs a cached run)', overhead.toFixed(2), 's');
}

if (only.includes('runs')) {
  // 1,000 run records shaped like quick.yaml's: 16 stages with params, key ingredients, metrics and a training curve.
  const ws = mkdtempSync(join(tmpdir(), 'inkflow-runs-bench-'));
  const hex = (i) => i.toString(16).padStart(8, '0').repeat(8);
  const stageNames = ['load-train', 'load-test', 'sample-train', 'sample-test', 'normalize-train', 'normalize-validation', 'normalize-test', 'reshape-train', 'reshape-validation', 'reshape-test', 'build-model', 'train', 'evaluate', 'save-hdf5', 'write-labels', 'visualize'];
  let bytes = 0;
  for (let i = 0; i < 1000; i++) {
    const lr = [3e-4, 1e-3, 3e-3, 1e-2][i % 4];
    const batch = [32, 64, 128][i % 3];
    const stageParams = Object.fromEntries(stageNames.map((s) => [s, s === 'train'
      ? { epochs: 3, batch_size: batch, learning_rate: lr, lr_decay: 1, sampling: 'shuffle', seed: 7, reduce_lr: { enabled: true, monitor: 'val_loss', factor: 0.5, patience: 1, min_lr: 1e-5, min_delta: 1e-4, cooldown: 0 }, early_stopping: { enabled: true, monitor: 'val_loss', patience: 3, min_delta: 1e-4, restore_best_weights: true } }
      : { frame: true, seed: 7, shape: [28, 28, 1] }]));
    const accuracy = 0.5 + (0.4 * ((i * 7919) % 1000)) / 1000;
    const stages = Object.fromEntries(stageNames.map((s, k) => [s, {
      status: s === 'train' || s === 'evaluate' ? 'ran' : 'cached',
      uses: s.replace(/-(train|test|validation)$/, ''),
      key: hex(i * 31 + k),
      seconds: 1.5,
      peakRssBytes: 4e8,
      metrics: s === 'train' ? { epochs: 3, loss: 1 - accuracy, accuracy, val_accuracy: accuracy - 0.02, val_loss: 1.1 - accuracy, images_per_second: 1500 } : s === 'evaluate' ? { accuracy, balanced800_accuracy: accuracy - 0.01, loss: 1 - accuracy } : { count: 3000 },
      ...(s === 'train' ? { epochs: [1, 2, 3].map((e) => ({ epoch: e, loss: 2 / e, accuracy: (accuracy * e) / 3, val_loss: 2.1 / e, val_accuracy: (accuracy * e) / 3 - 0.02, learning_rate: lr })) } : {}),
      ingredients: { format: 1, uses: s, version: 1, code: hex(k + 7), params: stageParams[s], inputs: { dataset: hex(i + k + 1) }, files: {}, backend: 'wasm' },
    }]));
    const runId = `2026-01-01T00-00-00-000-${String(i).padStart(6, '0')}`;
    const started = 1767225600000 + i * 60000;
    const record = {
      runId, pipeline: 'quick', pipelineFile: '/work/pipelines/quick.yaml', startedAt: new Date(started).toISOString(), finishedAt: new Date(started + 45000).toISOString(), ok: true, cancelled: false, trigger: 'cli',
      experiment: { sweep: `sweep-${Math.floor(i / 4)}`, name: `learning_rate=${lr} batch_size=${batch}`, overrides: { 'train.learning_rate': lr, 'train.batch_size': batch } },
      options: {}, params: { data_dir: '/data', seed: 7 }, stageParams, stages, environment: { node: process.version, platform: 'linux', arch: 'x64', cpus: 2, backend: 'wasm' },
    };
    const text = JSON.stringify(record, null, 2);
    bytes += text.length;
    mkdirSync(join(ws, 'logs', 'runs', runId), { recursive: true });
    writeFileSync(join(ws, 'logs', 'runs', runId, 'run.json'), text);
  }
  // The first listing indexes records written without the index (as after an upgrade); later ones read the index.
  const firstListing = timeIt(() => run('node', [CLI, 'runs'], { cwd: ws }), 1);
  const table = timeIt(() => run('node', [CLI, 'runs'], { cwd: ws }), 5);
  const query = timeIt(() => run('node', [CLI, 'runs', '--where', 'train.learning_rate < 1e-3 and balanced800_accuracy > 0.8', '--sort', 'balanced800_accuracy:desc', '--md'], { cwd: ws }), 5);
  Object.assign(results.results, { runs_table_seconds: table, runs_query_seconds: query, runs_first_listing_seconds: firstListing });
  add(`\`inkflow runs\` over 1,000 run records (${(bytes / 1000 / 1024).toFixed(0)} KB each; whole process)`, table.toFixed(3), 's', '≤ 0.5 s', table <= 0.5);
  add('`inkflow runs --where … --sort … --md` over the same', query.toFixed(3), 's', '≤ 0.5 s', query <= 0.5);
  add('the first `inkflow runs` over 1,000 records not yet in the index', firstListing.toFixed(3), 's');
  // Wall time on a shared machine includes waiting for a core: the process's own CPU time says what it costs.
  const cpu = median(Array.from({ length: 5 }, () => run('/usr/bin/time', ['-f', '%U %S', 'node', CLI, 'runs'], { cwd: ws }).stderr.trim().split('\n').pop().split(' ').map(Number).reduce((a, b) => a + b, 0)));
  results.results.runs_table_cpu_seconds = cpu;
  add('CPU time (user + sys) of that `inkflow runs` process', cpu.toFixed(2), 's', '', undefined);
}

if (only.includes('remote')) {
  // Restoring letters.yaml from a remote cache (a fresh versitygw) into an empty workspace, against computing it.
  // The results come from a finished letters run in WORKSPACE (or the --cold run above), which is only read.
  const source = results.results.letters_source ?? WORKSPACE;
  const record = latestRun('letters', (r) => r.ok && Object.values(r.stages).every((s) => s.status === 'ran' || s.status === 'cached'), source);
  if (!record) add('letters.yaml restored from the remote', 'n/a', '', 'needs a finished letters run (--workspace DIR, or --cold)');
  else {
    const r = run('node', ['--import', 'tsx', join(ROOT, 'bench', 'remote.ts'), source, record.runId], { allowFail: true, env: { ...process.env, INKFLOW_DATA_DIR: DATA } });
    if (r.status !== 0) add('letters.yaml restored from the remote', 'n/a', '', `bench/remote.ts failed: ${r.stderr.trim().split('\n').pop()}`);
    else {
      const m = JSON.parse(r.stdout.trim().split('\n').pop());
      // The run it is compared with: the one measured now with --cold, else the recorded run if it computed every stage, else the compute time its stages recorded.
      const computed = latestRun('letters', (x) => x.ok && Object.values(x.stages).every((s) => s.status === 'ran'), source);
      const [coldSeconds, coldWhat] = results.results.letters_cold_seconds ? [results.results.letters_cold_seconds, 'cold run measured now']
        : computed ? [(Date.parse(computed.finishedAt) - Date.parse(computed.startedAt)) / 1000, `recorded cold run ${computed.runId}`]
        : [Object.values(record.stages).reduce((n, s) => n + (s.seconds ?? 0), 0), `sum of the stage times in run ${record.runId}`];
      Object.assign(results.results, { remote_run: m.run, remote_bytes: m.bytes, remote_push_seconds: m.pushSeconds, remote_restore_seconds: m.restoreSeconds, remote_restore_stages: m.fromRemote, remote_restored_by: m.restoredBy, remote_cold_seconds: coldSeconds, remote_mismatch: m.mismatch });
      add(`push of letters results to versitygw on loopback (${m.stages} stages, ${(m.bytes / 2 ** 20).toFixed(0)} MiB)`, m.pushSeconds.toFixed(1), 's');
      // When this checkout's keys differ from the recorded run's, `inkflow run` would train: the run's own results are pulled by its record instead.
      const how = m.mismatch ? `\`inkflow pull --run\`, because ${m.mismatch}` : '`inkflow run`';
      add(`letters.yaml restored from the remote into an empty workspace (${how}; whole process; ${m.fromRemote} of ${m.stages} stages from the remote)`, m.restoreSeconds.toFixed(1), 's', `< ${coldWhat}: ${(coldSeconds / 60).toFixed(1)} min`, m.restoreSeconds < coldSeconds && m.fromRemote === m.stages);
    }
  }
}

if (only.includes('workers')) {
  // Distributed execution (bench/workers.js): its own redis-server, `inkflow worker` processes on this machine.
  const r = run('node', ['--import', 'tsx', join(ROOT, 'bench', 'workers.js')], { allowFail: true, env: { ...process.env, INKFLOW_DATA_DIR: DATA }, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) add('stages on BullMQ workers', 'n/a', '', `bench/workers.js failed (${r.status}); see its output above`);
  else {
    const m = JSON.parse(r.stdout.trim().split('\n').pop());
    Object.assign(results.results, { workers: m });
    const { short, long } = m.dispatch_chain;
    add(`dispatch overhead per stage through BullMQ vs in-process (chains of ${short} and ${long} trivial stages, 1 worker, median of 7)`, m.dispatch_overhead_ms.toFixed(1), 'ms', '≤ 50 ms', m.dispatch_overhead_ms <= 50);
    add(`chain of ${long} trivial stages, whole \`inkflow run --force\`: in-process / through BullMQ`, `${m.dispatch_times[`local${long}`].toFixed(2)} / ${m.dispatch_times[`queue${long}`].toFixed(2)}`, 's');
    add('quick.yaml, 4 learning rates, `exp run --jobs 4 --executor bullmq` on 1 worker', m.sweep_1_worker_seconds.toFixed(1), 's');
    add('the same on 2 workers (one 2-core machine: they share its cores)', m.sweep_2_worker_seconds.toFixed(1), 's');
  }
}

function duBytes(...dirs) {
  // One du over all folders counts hard-linked files once, as on disk.
  const out = run('du', ['-scb', ...dirs], { allowFail: true }).stdout.trim().split('\n').pop();
  return Number(out.split(/\s/)[0]) || 0;
}

mkdirSync(join(ROOT, 'bench'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results.json'), JSON.stringify({ ...results, table: rows }, null, 2) + '\n');
if (only.includes('pages')) {
  // Line finding and line cropping on the 8 copiste pages (2550 x 3300 scans) against their ALTO.
  const dataDir = process.env.INKFLOW_DATA_DIR ?? join(ROOT, '..', 'shared', 'data');
  const pagesDir = join(dataDir, 'copiste-pages');
  if (existsSync(pagesDir)) {
    const { readLineXml } = await import('../dist/src/lines/xml-lines.js');
    const { findTextLines } = await import('../dist/src/lines/page-layout.js');
    const { matchLines } = await import('../dist/src/lines/line-match.js');
    const { cropLine } = await import('../dist/src/lines/line-crop.js');
    const { readGrayImage } = await import('../dist/src/data/images.js');
    const find = [], crop = [];
    let matched = 0, truthLines = 0, extra = 0, header = 0;
    for (const xml of readdirSync(pagesDir).filter((f) => f.endsWith('.xml')).sort()) {
      const truth = await readLineXml(join(pagesDir, xml));
      const image = await readGrayImage(truth.imagePath);
      let found = [];
      find.push(timeIt(() => { found = findTextLines(image); }, 3));
      crop.push(timeIt(() => { for (const l of truth.lines) cropLine(image, l.polygon); }, 3) * (30 / truth.lines.length));
      const score = matchLines(truth.lines.map((l) => l.box), found.map((l) => l.box));
      Object.assign(results.results, { [`pages_${xml}`]: { matched: score.matched, truth: score.truth, found: score.found, extra: score.extra, extraAbove: score.extraAbove } });
      matched += score.matched; truthLines += score.truth; extra += score.extra - score.extraAbove; header += score.extraAbove;
    }
    results.results.pages_find_seconds = median(find);
    results.results.pages_crop30_seconds = median(crop);
    add('page layout: ground-truth lines found (vertical IoU ≥ 0.5)', `${matched}/${truthLines}`, 'lines', '≥ 90 %', matched / truthLines >= 0.9);
    add('page layout: extra lines (below the printed header / in it)', `${extra} / ${header}`, 'lines');
    add('page layout: find the lines of a 2550x3300 page (median)', median(find).toFixed(3), 's', '≤ 1 s', median(find) <= 1);
    add('line crop: 30 lines of a page by polygon (median)', median(crop).toFixed(3), 's', '≤ 1 s', median(crop) <= 1);
  } else add('page layout', 'n/a', '', `no ${pagesDir}`);
}

const widths = ['name', 'value', 'unit', 'target', 'verdict'].map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
console.log(line(['measure', 'value', 'unit', 'target', 'verdict']));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line([r.name, r.value, r.unit, r.target, r.verdict]));
console.log(`\nwritten to bench/results.json`);
