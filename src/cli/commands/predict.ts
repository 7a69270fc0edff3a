import { collectImages, readGrayImage } from '../../data/images.js';
import { Recognizer } from '../../ml/recognizer.js';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';

const HELP = `usage: inkflow predict --model <model> <image or folder>... [--labels labels.json] [--json]

  --model    a .h5 file, a tfjs folder, or a pipeline output such as artifacts/letters/save-hdf5
  --labels   JSON mapping label → letter (default: a-z for 26-class models)
  --json     one JSON object per image with the top-3 probabilities

Crops of any size, dark ink on paper or light on dark, are framed like the training data.`;

export async function predictCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('predict', args, { model: { type: 'string' }, labels: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (!values.model || !positionals.length) throw new UsageError(`predict needs --model and at least one image\n\n${HELP}`);
  const files = await collectImages(positionals);
  if (!files.length) throw new UsageError(`predict: no PNG or JPEG images in ${positionals.join(', ')}`);
  const recognizer = await Recognizer.open(values.model, { labelsPath: values.labels });
  let failures = 0;
  for (let start = 0; start < files.length; start += 256) {
    const chunk = files.slice(start, start + 256);
    const inputs: Float32Array[] = [];
    const ok: string[] = [];
    for (const file of chunk) {
      try {
        inputs.push(Recognizer.prepare(await readGrayImage(file)));
        ok.push(file);
      } catch (err) {
        failures++;
        process.stderr.write(`inkflow: ${(err as Error).message}\n`);
      }
    }
    recognizer.predictPrepared(inputs).forEach((p, i) => {
      process.stdout.write(values.json
        ? JSON.stringify({ file: ok[i], letter: p.letter, confidence: p.confidence, top3: p.top }) + '\n'
        : `${ok[i]}\t${p.letter}\t${(p.confidence * 100).toFixed(1)}%\t${p.top.map((t) => `${t.letter}:${t.probability.toFixed(3)}`).join(' ')}\n`);
    });
  }
  return failures ? 1 : 0;
}
