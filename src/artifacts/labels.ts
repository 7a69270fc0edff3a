/** The labels artifact (`write-labels.labels`): JSON from class index to class name, e.g. {"0": "a", …}. */
import { writeFile } from 'node:fs/promises';
import { DamagedFileError, readJson } from '../util/fs.js';
import { UserInputError } from '../errors.js';

export async function writeLabels(file: string, classes: readonly string[]): Promise<void> {
  await writeFile(file, JSON.stringify(Object.fromEntries(classes.map((c, i) => [String(i), c])), null, 2) + '\n');
}

/** Class names in index order. */
export async function readLabels(file: string): Promise<string[]> {
  let mapping: unknown;
  try {
    mapping = await readJson(file);
  } catch (err) {
    if (err instanceof DamagedFileError) throw new UserInputError(`${err.message}; expected JSON like {"0": "a", "1": "b"}`);
    throw new UserInputError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'labels file not found' : (err as Error).message}`);
  }
  if (!mapping || typeof mapping !== 'object' || Array.isArray(mapping)) throw new UserInputError(`${file}: expected a JSON object such as {"0": "a", "1": "b"}`);
  const entries = Object.entries(mapping);
  const classes: string[] = [];
  for (const [index, name] of entries) {
    const i = Number(index);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || typeof name !== 'string') {
      throw new UserInputError(`${file}: "${index}": ${JSON.stringify(name)} is not a class index 0..${entries.length - 1} with a name`);
    }
    classes[i] = name;
  }
  return classes;
}
