/**
 * Reads a line dataset with a line model and scores it: CER and WER, raw
 * (every character, case and accents) and letters-only, for greedy decoding,
 * beam search with the character LM, and with a lexicon as well. Decoder
 * weights are tuned on the `tuning` lines (validation), never on the lines
 * scored. Writes per-line readings, the most confused characters and a
 * picture of the worst lines.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defineStage, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { UserInputError } from '../src/errors.js';
import { lineImage, readLineDataset, selectLines, type LineDataset } from '../src/lines/line-dataset.js';
import { LineModelRunner, type LineLogProbs } from '../src/lines/line-reader.js';
import { decodeLine, DEFAULT_DECODER, type DecoderModels, type DecoderSettings } from '../src/lines/line-decoder.js';
import { CharNgram } from '../src/lines/char-ngram.js';
import { lexiconWords, WordTrie } from '../src/lines/lexicon.js';
import { loadWords } from '../src/phrases/words.js';
import { pushAll } from '../src/util/arrays.js';
import { cer, confusions, errorRate, lettersOnly, wer } from '../src/lines/text-metrics.js';
import { describeCharacters, outsideCharset } from '../src/lines/charset.js';
import { drawLineReadings } from '../src/viz/line-readings.js';
import { describeRuleErasure, ruleErasureOf } from '../src/lines/line-rules.js';
import { loadStageTf, numericEnvironment } from '../src/ml/numeric-environment.js';

interface Scores {
  cer: number;
  wer: number;
  cer_letters: number;
  wer_letters: number;
}

export const evaluateLinesParams = StrictObject({
  beam_width: Type.Integer({ minimum: 1, maximum: 200, default: DEFAULT_DECODER.beam_width }),
  lm_weight: Type.Number({ minimum: 0, default: DEFAULT_DECODER.lm_weight, description: 'LM weight when no tuning lines are wired' }),
  insertion_bonus: Type.Number({ default: DEFAULT_DECODER.insertion_bonus, description: 'per-character bonus when no tuning lines are wired' }),
  oov_penalty: Type.Number({ minimum: 0, default: DEFAULT_DECODER.oov_penalty, description: 'cost of a word outside the lexicon' }),
  words_file: Type.Optional(Type.String({ description: "lexicon word list (one word per line), added to the lexicon input's words" })),
  english_words: Type.Boolean({ default: false, description: 'add the English word list (the one synth-phrases draws from and read-phrases corrects to) to the lexicon' }),
  worst: Type.Integer({ minimum: 0, maximum: 100, default: 12, description: 'worst lines to draw' }),
  tuning_lines: Type.Integer({ minimum: 1, default: 300, description: 'tune the decoder on at most this many tuning lines (the first ones)' }),
});

export default defineStage<Static<typeof evaluateLinesParams>>({
  description: 'CER/WER of a line model (greedy, beam + LM, + lexicon), per-line readings, confusions, worst lines',
  version: 1,
  environment: numericEnvironment,
  paramsSchema: evaluateLinesParams,
  inputs: {
    model: { description: 'line model', required: true },
    dataset: { description: 'lines to score (the test split)', required: true },
    lm: { description: 'character n-gram model from language-model' },
    lexicon: { description: 'line dataset whose words make the lexicon (the training lines)' },
    tuning: { description: 'lines on which the LM weight and insertion bonus are tuned (validation)' },
  },
  outputs: ['report'],
  fileParams: (p) => (p.words_file ? [p.words_file] : []),
  async run(ctx) {
    const p = ctx.params;
    const tf = await loadStageTf(ctx);
    const runner = await LineModelRunner.open(tf, ctx.input('model'));
    const charset = runner.meta.charset.characters;
    const test = await readLineDataset(ctx.input('dataset'));
    if (test.meta.height !== runner.meta.height) throw new UserInputError(`evaluate-lines: the lines are ${test.meta.height} px high but the model reads ${runner.meta.height}; set load-lines' height to ${runner.meta.height}`);
    const [scoredErasure, modelErasure] = [ruleErasureOf(test.meta), ruleErasureOf(runner.meta)];
    if (scoredErasure !== modelErasure) ctx.log.warn(`the scored lines were loaded with ${describeRuleErasure(scoredErasure)} but the model was trained on lines with ${describeRuleErasure(modelErasure)}; set load-lines' erase_rules for the scored lines to the model's, so they are read as it learned them`);
    const outside = outsideCharset(runner.meta.charset, test.lines.map((l) => l.text));
    if (outside.length) ctx.log.warn(`${outside.reduce((s, [, n]) => s + n, 0)} characters of the scored lines are outside the model's charset (counted as errors): ${describeCharacters(outside)}`);
    const lm = ctx.inputs.lm ? CharNgram.fromJSON(JSON.parse(await readFile(ctx.inputs.lm, 'utf8')), ctx.inputs.lm) : undefined;
    const lexicon = await loadLexicon(ctx.inputs.lexicon, p.words_file && resolve(ctx.workspace, p.words_file), p.english_words);

    const infer = (ds: LineDataset, what: string): LineLogProbs[] => {
      ctx.progress.update(`reading ${ds.lines.length} ${what} lines`);
      return runner.logProbs(ds.lines.map((_, i) => lineImage(ds, i)));
    };
    const started = performance.now();
    const outputs = infer(test, 'test');
    const inferSeconds = (performance.now() - started) / 1000;
    let settings: DecoderSettings = { ...DEFAULT_DECODER, beam_width: p.beam_width, lm_weight: p.lm_weight, insertion_bonus: p.insertion_bonus, oov_penalty: p.oov_penalty };
    if (lm && ctx.inputs.tuning) {
      const all = await readLineDataset(ctx.inputs.tuning);
      const tuning = all.lines.length > p.tuning_lines ? selectLines(all, (_, i) => i < p.tuning_lines) : all;
      settings = tuneDecoder(infer(tuning, 'tuning'), tuning, charset, settings, { lm }, (m) => ctx.progress.update(m));
      ctx.log.info(`decoder tuned on ${tuning.lines.length} tuning lines: lm_weight ${settings.lm_weight}, insertion_bonus ${settings.insertion_bonus}`);
    }

    const texts = test.lines.map((l) => l.text);
    const decoders: [string, DecoderSettings, DecoderModels][] = [['greedy', { ...settings, method: 'greedy' }, {}]];
    if (lm) decoders.push(['lm', settings, { lm }]);
    if (lm && lexicon) decoders.push(['lm_lexicon', settings, { lm, lexicon }]);
    else if (lexicon) decoders.push(['lexicon', settings, { lexicon }]);
    const readings: Record<string, string[]> = {};
    const scores: Record<string, Scores> = {};
    for (const [name, s, models] of decoders) {
      const t0 = performance.now();
      readings[name] = outputs.map((out, i) => {
        if (i % 50 === 0) ctx.progress.update(`decoding (${name}) ${i + 1}/${outputs.length}`);
        return decodeLine(out, charset, s, models).text;
      });
      scores[name] = score(texts, readings[name]!);
      ctx.log.info(`${name.padEnd(10)} CER ${pct(scores[name]!.cer)}  WER ${pct(scores[name]!.wer)}  letters-only CER ${pct(scores[name]!.cer_letters)}  (${((performance.now() - t0) / outputs.length).toFixed(1)} ms/line)`);
    }
    const best = decoders[decoders.length - 1]![0];
    const report = ctx.output('report');
    await mkdir(report, { recursive: true });
    const perLine = texts.map((ref, i) => ({ id: test.lines[i]!.id, reference: ref, ...Object.fromEntries(Object.keys(readings).map((k) => [k, readings[k]![i]!])), cer: errorRate(cer(ref, readings[best]![i]!)) }));
    const confused = confusions(perLine.map((l, i) => ({ ref: l.reference, hyp: readings[best]![i]! })));
    await writeFile(join(report, 'metrics.json'), JSON.stringify({ lines: texts.length, decoder: settings, scores, lines_per_second_inference: texts.length / inferSeconds }, null, 2) + '\n');
    await writeFile(join(report, 'lines.csv'), csv(perLine));
    await writeFile(join(report, 'confusions.json'), JSON.stringify({ substitutions: confused.substitutions.slice(0, 50), deletions: confused.deletions.slice(0, 30), insertions: confused.insertions.slice(0, 30) }, null, 2) + '\n');
    const worst = perLine.map((l, i) => ({ ...l, i })).sort((a, b) => b.cer - a.cer).slice(0, p.worst);
    if (worst.length) {
      const png = await drawLineReadings(worst.map((w) => ({ image: lineImage(test, w.i), reference: w.reference, reading: readings[best]![w.i]!, label: `${w.id} CER ${pct(w.cer)}` })), `Worst ${worst.length} of ${texts.length} lines (${best} decoding): errors in red`);
      await writeFile(join(report, 'worst-lines.png'), png);
    }
    ctx.log.info(`most confused: ${confused.substitutions.slice(0, 8).map((c) => `${c.ref}→${c.hyp} ×${c.count}`).join(', ')}`);
    const metrics: Record<string, number> = { lines: texts.length, lines_per_second: texts.length / inferSeconds };
    for (const [name, s] of Object.entries(scores)) {
      const suffix = name === 'greedy' ? '' : `_${name}`;
      Object.assign(metrics, { [`cer${suffix}`]: s.cer, [`wer${suffix}`]: s.wer, [`cer_letters${suffix}`]: s.cer_letters });
    }
    ctx.recordMetrics(metrics);
    runner.dispose();
  },
});

function score(refs: readonly string[], hyps: readonly string[]): Scores {
  return {
    cer: errorRate(refs.map((r, i) => cer(r, hyps[i]!))),
    wer: errorRate(refs.map((r, i) => wer(r, hyps[i]!))),
    cer_letters: errorRate(refs.map((r, i) => cer(lettersOnly(r), lettersOnly(hyps[i]!)))),
    wer_letters: errorRate(refs.map((r, i) => wer(lettersWords(r), lettersWords(hyps[i]!)))),
  };
}

const lettersWords = (text: string) => lexiconWords(text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase()).join(' ');
const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

/** Grid search of the LM weight and insertion bonus for the lowest CER on the tuning lines. */
function tuneDecoder(outputs: LineLogProbs[], ds: LineDataset, charset: readonly string[], base: DecoderSettings, models: DecoderModels, progress: (m: string) => void): DecoderSettings {
  let best = base;
  let bestCer = Infinity;
  const refs = ds.lines.map((l) => l.text);
  for (const lm_weight of [0.3, 0.6, 0.9]) {
    for (const insertion_bonus of [0, 1, 2]) {
      progress(`tuning the decoder: lm_weight ${lm_weight} insertion_bonus ${insertion_bonus}`);
      const s = { ...base, method: 'beam' as const, lm_weight, insertion_bonus };
      const c = errorRate(outputs.map((o, i) => cer(refs[i]!, decodeLine(o, charset, s, models).text)));
      if (c < bestCer) [best, bestCer] = [s, c];
    }
  }
  return best;
}

async function loadLexicon(datasetDir: string | undefined, wordsFile: string | undefined, english: boolean): Promise<WordTrie | undefined> {
  const words: string[] = english ? await loadWords() : [];
  if (datasetDir) for (const l of (await readLineDataset(datasetDir)).lines) words.push(...lexiconWords(l.text));
  if (wordsFile) {
    const raw = await readFile(wordsFile, 'utf8').catch((err: Error) => {
      throw new UserInputError(`${wordsFile}: ${err.message}; set words_file to a word list, one word per line`);
    });
    pushAll(words, raw.split(/\r?\n/).map((w) => w.trim()).filter(Boolean));
  }
  return words.length ? WordTrie.fromWords(words) : undefined;
}

function csv(rows: Record<string, string | number>[]): string {
  const keys = Object.keys(rows[0] ?? {});
  const cell = (v: string | number) => (typeof v === 'number' ? v.toFixed(4) : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [keys.join(','), ...rows.map((r) => keys.map((k) => cell(r[k] ?? '')).join(','))].join('\n') + '\n';
}
