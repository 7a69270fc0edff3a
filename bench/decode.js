#!/usr/bin/env node
// Line decoding speed: greedy and beam search (with the 6-gram LM and a lexicon) on model-like CTC
// outputs built from Copiste validation transcriptions. The reading target (>= 50 lines/s overall)
// leaves the decoder a few ms per line. Prints one JSON line; `npm run bench -- --only decode` runs it.
// The synthetic outputs say nothing of recognition accuracy: the CER printed only shows the LM and
// lexicon pulling noisy readings towards the text, on posteriors with known, injected confusions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beamSearch, greedyDecode } from '../dist/src/lines/ctc-decode.js';
import { CharNgram } from '../dist/src/lines/char-ngram.js';
import { WordTrie, lexiconWords } from '../dist/src/lines/lexicon.js';
import { graphemes } from '../dist/src/lines/graphemes.js';
import { cer, errorRate } from '../dist/src/lines/text-metrics.js';

const dataDir = process.env.INKFLOW_DATA_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data');
const rows = readFileSync(join(dataDir, 'copiste-lines', 'lines.tsv'), 'utf8').split('\n').slice(1).filter(Boolean).map((r) => r.split('\t'));
const train = rows.filter((r) => r[4] === 'train').map((r) => r[1]);
const lines = rows.filter((r) => r[4] === 'validation').map((r) => r[1]).slice(0, Number(process.argv[2] ?? 200));
const charset = [...new Set(rows.flatMap((r) => graphemes(r[1])))].sort();
const K = charset.length + 1;

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());

/** A [T, K] log-softmax output that looks like a CTC model's: peaky characters, blanks between, some confusions. */
function modelLike(text) {
  const frames = [];
  const frame = (peaks) => {
    const logits = Array.from({ length: K }, () => gauss() - 9);
    for (const [k, logit] of peaks) logits[k] = logit;
    const max = Math.max(...logits);
    const norm = max + Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0));
    frames.push(logits.map((x) => x - norm));
  };
  for (const ch of graphemes(text)) {
    const k = charset.indexOf(ch) + 1;
    const confusion = 1 + Math.floor(rand() * charset.length);
    const confused = rand() < 0.25;
    for (let i = rand() < 0.3 ? 2 : 1; i > 0; i--) frame([[k, 3 + 2 * gauss()], [0, 1], ...(confused ? [[confusion, 3 + 2 * gauss()]] : [])]);
    for (let i = 2 + Math.floor(rand() * 3); i > 0; i--) frame([[0, 5], [k, gauss()]]);
  }
  return Float32Array.from(frames.flat());
}

const outputs = lines.map(modelLike);
const lm = CharNgram.train(train, { order: 6 });
const lexicon = WordTrie.fromWords(train);
const T = outputs.map((o) => o.length / K);

function measure(name, decode) {
  decode(outputs[0], T[0]); // warm up
  // CPU time as well as wall time: on a shared, busy machine the wall clock mostly measures the others.
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const texts = outputs.map((o, i) => decode(o, T[i]).text);
  const { user, system } = process.cpuUsage(cpu);
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / outputs.length;
  const cpuMs = (user + system) / 1e3 / outputs.length;
  return { name, ms_per_line: +ms.toFixed(3), cpu_ms_per_line: +cpuMs.toFixed(3), synthetic_cer: +errorRate(texts.map((t, i) => cer(lines[i], t))).toFixed(4) };
}

const results = [
  measure('greedy', (o, t) => greedyDecode(o, t, K, charset)),
  measure('beam 10', (o, t) => beamSearch(o, t, K, charset, { beamWidth: 10 })),
  measure('beam 10 + 6-gram LM', (o, t) => beamSearch(o, t, K, charset, { beamWidth: 10, lm, lmWeight: 0.8, insertionBonus: 1 })),
  measure('beam 10 + 6-gram LM + closed lexicon', (o, t) => beamSearch(o, t, K, charset, { beamWidth: 10, lm, lmWeight: 0.8, insertionBonus: 1, lexicon })),
  measure('beam 10 + 6-gram LM + lexicon, OOV penalty 4', (o, t) => beamSearch(o, t, K, charset, { beamWidth: 10, lm, lmWeight: 0.8, insertionBonus: 1, lexicon, oovPenalty: 4 })),
];
const oov = lines.flatMap((l) => lexiconWords(l)).filter((w, _, all) => !lexicon.has(w)).length / lines.flatMap((l) => lexiconWords(l)).length;
console.log(JSON.stringify({ validation_words_outside_train_lexicon: +oov.toFixed(4), lines: lines.length, mean_frames: +(T.reduce((a, b) => a + b, 0) / T.length).toFixed(1), mean_chars: +(lines.reduce((a, l) => a + graphemes(l).length, 0) / lines.length).toFixed(1), K, results }));
