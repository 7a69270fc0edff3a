/**
 * ed25519 keys for signing stage entries (node:crypto). A public key is one line,
 * `ed25519:<base64url of the 32 raw bytes>`, short enough to paste into a trust list.
 * The private key is PKCS#8 PEM in a 0600 file under the user's config directory,
 * never in the workspace.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UserInputError } from '../errors.js';

export const PUBLIC_KEY_PATTERN = '^ed25519:[A-Za-z0-9_-]{43}$';
const PUBLIC_KEY = new RegExp(PUBLIC_KEY_PATTERN);

export interface SigningKey {
  privateKey: KeyObject;
  /** The public half, as written in trust lists. */
  publicKey: string;
  path: string;
}

/** `$XDG_CONFIG_HOME/inkflow/keys` (default `~/.config/inkflow/keys`). */
export function keysDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'inkflow', 'keys');
}

/** The signing key this user signs with: `$INKFLOW_SIGNING_KEY`, else `default.key` in keysDir(). */
export function signingKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.INKFLOW_SIGNING_KEY || join(keysDir(env), 'default.key');
}

export function publicKeyText(key: KeyObject): string {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  return `ed25519:${jwk.x}`;
}

export function isPublicKeyText(text: string): boolean {
  return PUBLIC_KEY.test(text);
}

function publicKeyObject(text: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: text.slice('ed25519:'.length) }, format: 'jwk' });
}

/**
 * Writes a new key pair: the private key at `path` (0600, refusing to replace an existing
 * one unless `force`), the public key beside it at `path.pub`. Returns the public key.
 */
export async function generateSigningKey(path: string, options: { force?: boolean; comment?: string } = {}): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  if (options.force) await rm(path, { force: true });
  const handle = await open(path, 'wx', 0o600).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') throw new UserInputError(`${path} already exists; pass --force to replace it (entries signed with the old key stay valid only while it is trusted)`);
    throw err;
  });
  try {
    await handle.writeFile(pem);
  } finally {
    await handle.close();
  }
  const text = publicKeyText(publicKey);
  await rm(`${path}.pub`, { force: true });
  const pub = await open(`${path}.pub`, 'wx', 0o644);
  try {
    await pub.writeFile(`${text}${options.comment ? ` ${options.comment}` : ''}\n`);
  } finally {
    await pub.close();
  }
  return text;
}

/** The key at `path`; undefined when there is no such file. */
export async function loadSigningKey(path: string): Promise<SigningKey | undefined> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserInputError(`cannot read the signing key ${path}: ${(err as Error).message}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new UserInputError(`${path} is not a PEM private key (${(err as Error).message}); make one with \`inkflow remote keygen\``);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new UserInputError(`${path} is a ${privateKey.asymmetricKeyType} key; inkflow signs with ed25519 keys from \`inkflow remote keygen\``);
  return { privateKey, publicKey: publicKeyText(privateKey), path };
}

/** Reads a public key file (`ed25519:... comment`): the key and the rest of its first line. */
export async function readPublicKeyFile(path: string): Promise<{ key: string; comment?: string }> {
  const text = await readFile(path, 'utf8').catch((err: Error) => {
    throw new UserInputError(`cannot read ${path}: ${err.message}`);
  });
  const [key = '', ...rest] = text.trim().split('\n')[0]?.trim().split(/\s+/) ?? [];
  if (!isPublicKeyText(key)) throw new UserInputError(`${path} does not start with an inkflow public key (ed25519:<43 characters>); \`inkflow remote keygen\` prints one and writes it to <key>.pub`);
  return { key, ...(rest.length ? { comment: rest.join(' ') } : {}) };
}

export function signMessage(key: SigningKey, message: Buffer): string {
  return sign(null, message, key.privateKey).toString('base64');
}

export function verifyMessage(publicKey: string, message: Buffer, signature: string): boolean {
  if (!isPublicKeyText(publicKey)) return false;
  try {
    return verify(null, message, publicKeyObject(publicKey), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
