/**
 * Stage entries, `ac/<stage key>.json`: what computing a key produced (each output's
 * files with their sizes and content digests, plus the manifest fields that rebuild a
 * local store entry), signed by whoever computed it. The signature covers the stage key
 * and every digest, so bucket write access alone can neither forge an entry nor replay
 * a genuine one under another key (the remote cache poisoning of CVE-2025-36852).
 */
import type { ErrorObject } from 'ajv';
import { compileSchema } from '../engine/ajv.js';
import { AnyObject, NamedMap, StrictObject, Type, type Static } from '../engine/schema.js';
import { outputDigest, type KeyIngredients, type Manifest } from '../engine/store.js';
import { UserInputError } from '../errors.js';
import { canonicalJson } from '../util/hash.js';
import { PUBLIC_KEY_PATTERN, signMessage, verifyMessage, type SigningKey } from './signing.js';

const SHA256 = '^[0-9a-f]{64}$';
/** A relative path inside an output: no absolute paths, no `..`, no backslashes. */
const SAFE_PATH = '^(\\.|(?!\\.\\.?(/|$))[^/\\\\\\x00]+(/(?!\\.\\.?(/|$))[^/\\\\\\x00]+)*)$';

const FileSchema = StrictObject({ size: Type.Integer({ minimum: 0 }), sha256: Type.String({ pattern: SHA256 }) });
const OutputSchema = StrictObject({ digest: Type.String({ pattern: SHA256 }), files: NamedMap(FileSchema, { namePattern: SAFE_PATH }) });

const BodySchema = StrictObject({
  key: Type.String({ pattern: SHA256 }),
  pipeline: Type.String(),
  stage: Type.String(),
  uses: Type.String(),
  createdAt: Type.String(),
  seconds: Type.Number(),
  ingredients: AnyObject(),
  metrics: NamedMap(Type.Number()),
  outputs: NamedMap(OutputSchema, { namePattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$' }),
});

const EntrySchema = StrictObject({
  format: Type.Literal(1),
  body: BodySchema,
  signature: StrictObject({ key: Type.String({ pattern: PUBLIC_KEY_PATTERN }), value: Type.String({ minLength: 1 }) }),
});

export type EntryBody = Static<typeof BodySchema>;
export type StageEntry = Static<typeof EntrySchema>;

/** Domain separation: a signature over an entry can never be taken for a signature over anything else. */
const SIGNED_PREFIX = 'inkflow stage entry v1\n';

function signedBytes(body: EntryBody): Buffer {
  return Buffer.from(SIGNED_PREFIX + canonicalJson(body));
}

/** Why an entry was refused; the message names the stage key. */
export class UntrustedEntryError extends UserInputError {
  override name = 'UntrustedEntryError';
}

export function entryFromManifest(manifest: Manifest, key: SigningKey): StageEntry {
  const outputs = Object.fromEntries(Object.entries(manifest.outputs).map(([name, output]) => [name, {
    digest: output.digest,
    files: Object.fromEntries(Object.entries(output.files).map(([file, entry]) => [file, { size: entry.size, sha256: entry.sha256 }])),
  }]));
  const body: EntryBody = {
    key: manifest.key,
    pipeline: manifest.pipeline,
    stage: manifest.stage,
    uses: manifest.uses,
    createdAt: manifest.createdAt,
    seconds: manifest.seconds,
    ingredients: manifest.ingredients,
    metrics: manifest.metrics,
    outputs,
  };
  return { format: 1, body, signature: { key: key.publicKey, value: signMessage(key, signedBytes(body)) } };
}

/**
 * The entry for `key` if it is well formed, signed by a key in `trusted`, signed over this
 * very stage key, and its output digests agree with its file lists; otherwise an
 * UntrustedEntryError saying which check failed.
 */
export function trustedEntry(text: string, key: string, trusted: ReadonlySet<string>, where: string): EntryBody {
  const refuse = (why: string) => new UntrustedEntryError(`stage entry for key ${key} (${where}) refused: ${why}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw refuse(`not JSON (${(err as Error).message})`);
  }
  const validate = compileSchema(EntrySchema);
  if (!validate(value)) {
    const unsigned = value && typeof value === 'object' && !('signature' in value);
    throw refuse(unsigned ? 'it is not signed' : `not an inkflow stage entry (${describeSchemaErrors(validate.errors ?? [])})`);
  }
  const entry = value as StageEntry;
  if (!trusted.has(entry.signature.key)) {
    throw refuse(`signed by ${entry.signature.key}, which is not in the workspace's trusted_keys; if you trust its owner, add it with \`inkflow remote trust <key file>\``);
  }
  if (!verifyMessage(entry.signature.key, signedBytes(entry.body), entry.signature.value)) {
    throw refuse('the signature does not match its content (the entry was altered after it was signed)');
  }
  if (entry.body.key !== key) {
    throw refuse(`it is a genuine entry for another key (${entry.body.key}) stored under this one`);
  }
  for (const [name, output] of Object.entries(entry.body.outputs)) {
    if (outputDigest(output.files) !== output.digest) throw refuse(`output "${name}" has a digest that does not match its files`);
  }
  return entry.body;
}

function describeSchemaErrors(errors: readonly ErrorObject[]): string {
  return errors
    .filter((e) => e.keyword !== 'propertyNames')
    .map((e) => (e.propertyName !== undefined
      ? `${e.instancePath} has a name that is not a safe relative path or output name: ${JSON.stringify(e.propertyName)}`
      : `${e.instancePath || '/'} ${e.message}`))
    .join('; ');
}

/** The manifest fields a downloaded entry rebuilds (the store adds the key, outputs and file stamps). */
export function manifestFields(body: EntryBody): Omit<Manifest, 'key' | 'outputs'> {
  return {
    pipeline: body.pipeline,
    stage: body.stage,
    uses: body.uses,
    createdAt: body.createdAt,
    seconds: body.seconds,
    ingredients: body.ingredients as KeyIngredients,
    metrics: body.metrics,
  };
}
