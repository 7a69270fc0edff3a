/** Writes the JSON mapping from numeric label to class name, e.g. {"0": "a", …}. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage, strictObject } from '../src/engine/stage-api.js';
import type { DatasetMeta } from '../src/data/dataset.js';

export default defineStage<Record<string, never>>({
  description: 'write labels.json mapping numeric labels to letters',
  version: 1,
  paramsSchema: strictObject({ properties: {} }),
  inputs: { dataset: { description: 'any dataset carrying the class names', required: true } },
  outputs: ['labels'],
  async run(ctx) {
    const meta = JSON.parse(await readFile(join(ctx.inputs.dataset, 'meta.json'), 'utf8')) as DatasetMeta;
    const mapping = Object.fromEntries(meta.classes.map((c, i) => [String(i), c]));
    await writeFile(ctx.output('labels'), JSON.stringify(mapping, null, 2) + '\n');
  },
});
