import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { isMap, isSeq, type Document } from 'yaml';
import { UsageError, UserInputError } from '../../errors.js';
import { displayPath } from '../../util/paths.js';
import { configPath, editRemoteConfig, parseS3Url, readRemoteConfig } from '../../remote/config.js';
import { generateSigningKey, isPublicKeyText, keysDir, readPublicKeyFile, signingKeyPath } from '../../remote/signing.js';
import { parseCommandArgs } from '../args.js';
import { table, workspaceRoot } from './common.js';

const HELP = `usage: inkflow remote <command>

Shared caches on S3-compatible storage, configured in .inkflow/config.yaml (commit it:
it holds no credentials; those come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE).

  remote add <name> s3://bucket/prefix [--endpoint URL] [--region R] [--path-style]
             [--read-only] [--default] [--force]
                          add (or with --force replace) a remote; --path-style for
                          MinIO-like servers; --default makes \`inkflow run\` use it
  remote list             the remotes and the trusted keys
  remote remove <name>    forget a remote (its bucket is left as it is)
  remote keygen [--out <file>] [--force]
                          make your ed25519 signing key (default ${displayPath(signingKeyPath())},
                          or $INKFLOW_SIGNING_KEY) and print its public key
  remote trust <key.pub | ed25519:...>
                          accept stage entries signed by this public key`;

export async function remoteCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'add':
      return add(rest);
    case 'list':
    case 'ls':
      return list(rest);
    case 'remove':
    case 'rm':
      return remove(rest);
    case 'keygen':
      return keygen(rest);
    case 'trust':
      return trust(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(HELP + '\n');
      return sub ? 0 : 2;
    default:
      throw new UsageError(`remote: unknown command "${sub}"\n\n${HELP}`);
  }
}

async function add(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('remote add', args, {
    endpoint: { type: 'string' },
    region: { type: 'string' },
    'path-style': { type: 'boolean' },
    'read-only': { type: 'boolean' },
    default: { type: 'boolean' },
    force: { type: 'boolean' },
  }, HELP);
  if (!parsed) return 0;
  const [name, url, ...extra] = parsed.positionals;
  if (!name || !url || extra.length) throw new UsageError('remote add: give a name and an S3 URL, e.g. `inkflow remote add team s3://bucket/inkflow --endpoint http://127.0.0.1:7070 --path-style`');
  const { values } = parsed;
  checkRemoteArgs(url, values.endpoint);
  const workspace = workspaceRoot();
  const existing = (await readRemoteConfig(workspace)).remotes?.[name];
  if (existing && !values.force) throw new UserInputError(`remote "${name}" already exists (${existing.url}); pass --force to replace it`);
  const settings = {
    url,
    ...(values.endpoint ? { endpoint: values.endpoint } : {}),
    ...(values.region ? { region: values.region } : {}),
    ...(values['path-style'] ? { path_style: true } : {}),
    ...(values['read-only'] ? { read_only: true } : {}),
  };
  await editRemoteConfig(workspace, (doc) => {
    doc.setIn(['remotes', name], doc.createNode(settings));
    if (values.default) doc.set('default_remote', name);
  });
  process.stdout.write(`added remote "${name}" (${url}${values.endpoint ? ` at ${values.endpoint}` : ''}) to ${displayPath(configPath(workspace))}${values.default ? ' as the default' : ''}\n`);
  return 0;
}

/** The mistakes the config schema would reject, said in words (and without echoing a secret back). */
function checkRemoteArgs(url: string, endpoint: string | undefined): void {
  const { bucket } = parseS3Url(url);
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new UsageError(`remote add: "${bucket}" is not a valid S3 bucket name (3-63 characters: lower-case letters, digits, dots and hyphens)`);
  if (endpoint === undefined) return;
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw new UsageError(`remote add: --endpoint must be a URL such as http://127.0.0.1:7070`);
  }
  if (parsed.username || parsed.password) {
    throw new UsageError('remote add: --endpoint must not contain credentials; inkflow never stores them: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`remote add: --endpoint must be an http:// or https:// URL`);
}

async function list(args: string[]): Promise<number> {
  if (!parseCommandArgs('remote list', args, {}, HELP)) return 0;
  const config = await readRemoteConfig(workspaceRoot());
  const remotes = Object.entries(config.remotes ?? {});
  if (!remotes.length) process.stdout.write('no remotes; add one with `inkflow remote add <name> s3://bucket/prefix`\n');
  else {
    process.stdout.write(table([
      ['NAME', 'URL', 'ENDPOINT', 'OPTIONS'],
      ...remotes.map(([name, r]) => [
        `${name}${config.default_remote === name ? ' (default)' : ''}`,
        r.url,
        r.endpoint ?? '(AWS)',
        [r.region ? `region ${r.region}` : '', r.path_style ? 'path-style' : '', r.read_only ? 'read-only' : ''].filter(Boolean).join(', '),
      ]),
    ]) + '\n');
  }
  const trusted = config.trusted_keys ?? [];
  process.stdout.write(`\n${trusted.length} trusted key(s)${trusted.length ? ':' : ' (no entry from any remote is accepted until you `inkflow remote trust` a key)'}\n`);
  for (const k of trusted) process.stdout.write(`  ${k.key}${k.comment ? `  ${k.comment}` : ''}\n`);
  return 0;
}

async function remove(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('remote remove', args, {}, HELP);
  if (!parsed) return 0;
  const [name] = parsed.positionals;
  if (!name) throw new UsageError('remote remove: name the remote to remove');
  const workspace = workspaceRoot();
  const config = await readRemoteConfig(workspace);
  if (!config.remotes?.[name]) throw new UserInputError(`no remote "${name}" in ${displayPath(configPath(workspace))}`);
  await editRemoteConfig(workspace, (doc) => {
    doc.deleteIn(['remotes', name]);
    if (config.default_remote === name) doc.delete('default_remote');
    if (isMap(doc.get('remotes')) && (doc.get('remotes') as { items: unknown[] }).items.length === 0) doc.delete('remotes');
  });
  process.stdout.write(`removed remote "${name}"${config.default_remote === name ? ' (it was the default; there is none now)' : ''}; its bucket is untouched\n`);
  return 0;
}

async function keygen(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('remote keygen', args, { out: { type: 'string' }, force: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const path = parsed.values.out ? resolve(parsed.values.out) : signingKeyPath();
  const comment = `${process.env.USER ?? 'user'}@${hostname()}`;
  const publicKey = await generateSigningKey(path, { force: parsed.values.force, comment });
  process.stdout.write(`${publicKey} ${comment}\n`);
  process.stderr.write([
    `private key: ${path} (mode 0600; keep it secret, never commit it)`,
    `public key:  ${path}.pub`,
    `Trust it in a workspace (and commit .inkflow/config.yaml): inkflow remote trust ${path}.pub`,
    ...(parsed.values.out && resolve(parsed.values.out) !== signingKeyPath() ? [`Sign with it: export INKFLOW_SIGNING_KEY=${path} (default: ${keysDir()}/default.key)`] : []),
  ].join('\n') + '\n');
  return 0;
}

async function trust(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('remote trust', args, {}, HELP);
  if (!parsed) return 0;
  const [file, ...words] = parsed.positionals;
  if (!file) throw new UsageError('remote trust: name a public key file, e.g. `inkflow remote trust ~/.config/inkflow/keys/default.key.pub`, or give the key itself');
  const { key, comment } = isPublicKeyText(file) ? { key: file, comment: words.join(' ') || undefined } : await readPublicKeyFile(file);
  const workspace = workspaceRoot();
  const trusted = (await readRemoteConfig(workspace)).trusted_keys ?? [];
  if (trusted.some((k) => k.key === key)) {
    process.stdout.write(`${key} is already trusted\n`);
    return 0;
  }
  const entry = { key, ...(comment ? { comment } : {}) };
  await editRemoteConfig(workspace, (doc: Document) => {
    const list = doc.get('trusted_keys');
    if (isSeq(list)) list.add(doc.createNode(entry));
    else doc.set('trusted_keys', doc.createNode([entry]));
  });
  process.stdout.write(`trusting ${key}${comment ? ` (${comment})` : ''}: stage entries it signed are accepted from every remote of this workspace\n`);
  return 0;
}
