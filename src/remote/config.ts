/**
 * The workspace's remote configuration, `.inkflow/config.yaml` (committed, like DVC's
 * `.dvc/config`): named S3 remotes, the default one, and the public keys whose signed
 * stage entries this workspace trusts. It never holds credentials: those come from the
 * AWS SDK's standard chain (environment variables, profiles).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { validateAt } from '../engine/ajv.js';
import { NamedMap, StrictObject, Type, type Static } from '../engine/schema.js';
import { YamlSource } from '../engine/yaml-source.js';
import { ConfigError, UserInputError, type Diagnostic } from '../errors.js';
import { displayPath } from '../util/paths.js';
import { writeFileAtomic } from '../util/fs.js';
import { PUBLIC_KEY_PATTERN } from './signing.js';

export const REMOTE_NAME = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';

const RemoteSchema = StrictObject({
  url: Type.String({ pattern: '^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$', description: 's3://bucket/prefix' }),
  endpoint: Type.Optional(Type.String({ pattern: '^https?://[^/@\\s]+(/.*)?$', description: 'an S3-compatible server, e.g. http://127.0.0.1:7070 (no credentials in the URL)' })),
  region: Type.Optional(Type.String({ minLength: 1 })),
  path_style: Type.Optional(Type.Boolean()),
  read_only: Type.Optional(Type.Boolean()),
});

const TrustedKeySchema = StrictObject({
  key: Type.String({ pattern: PUBLIC_KEY_PATTERN }),
  comment: Type.Optional(Type.String()),
});

const ConfigSchema = StrictObject({
  default_remote: Type.Optional(Type.String({ pattern: REMOTE_NAME })),
  remotes: Type.Optional(NamedMap(RemoteSchema, { namePattern: REMOTE_NAME })),
  trusted_keys: Type.Optional(Type.Array(TrustedKeySchema)),
});

export type RemoteSettings = Static<typeof RemoteSchema>;
export type TrustedKey = Static<typeof TrustedKeySchema>;
export type RemoteConfig = Static<typeof ConfigSchema>;

/** One remote, resolved: its name and where its objects live. */
export interface RemoteLocation extends RemoteSettings {
  name: string;
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing slash ('' for the bucket root). */
  prefix: string;
}

export function configPath(workspace: string): string {
  return join(workspace, '.inkflow', 'config.yaml');
}

interface ConfigFile {
  path: string;
  text: string;
  config: RemoteConfig;
}

async function readConfigFile(workspace: string): Promise<ConfigFile> {
  const path = configPath(workspace);
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw new UserInputError(`cannot read ${displayPath(path)}: ${err.message}`);
  });
  // No config, no remote: a run in such a workspace pays nothing for the feature (not even compiling the schema).
  if (!text.trim()) return { path, text, config: {} };
  const source = new YamlSource(displayPath(path), text);
  const syntax = source.syntaxErrors();
  if (syntax.length) throw new ConfigError(syntax);
  const raw = (source.doc.toJS() ?? {}) as unknown;
  const diagnostics: Diagnostic[] = validateAt(ConfigSchema, raw, source, []);
  if (diagnostics.length) throw new ConfigError(diagnostics);
  const config = raw as RemoteConfig;
  if (config.default_remote !== undefined && !config.remotes?.[config.default_remote]) {
    throw new ConfigError([{ where: source.locate(['default_remote']), message: `default_remote "${config.default_remote}" is not one of the remotes (${Object.keys(config.remotes ?? {}).join(', ') || 'none'})` }]);
  }
  return { path, text, config };
}

export async function readRemoteConfig(workspace: string): Promise<RemoteConfig> {
  return (await readConfigFile(workspace)).config;
}

export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match?.[1]) throw new UserInputError(`"${url}" is not an S3 URL: write s3://bucket or s3://bucket/prefix`);
  return { bucket: match[1], prefix: (match[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

/** The named remote, or the default one when `name` is undefined; undefined when none is configured and none was asked for. */
export async function findRemote(workspace: string, name?: string): Promise<{ remote?: RemoteLocation; config: RemoteConfig }> {
  const config = await readRemoteConfig(workspace);
  const wanted = name ?? config.default_remote;
  if (wanted === undefined) return { config };
  const settings = config.remotes?.[wanted];
  if (!settings) {
    const known = Object.keys(config.remotes ?? {});
    throw new UserInputError(`no remote "${wanted}" in ${displayPath(configPath(workspace))}${known.length ? ` (remotes: ${known.join(', ')})` : ''}; add one with \`inkflow remote add ${wanted} s3://bucket/prefix\``);
  }
  return { remote: { ...settings, name: wanted, ...parseS3Url(settings.url) }, config };
}

/**
 * Edits the config file through the YAML document, so comments and layout the
 * user wrote survive; the result is validated before it replaces the file.
 */
export async function editRemoteConfig(workspace: string, edit: (doc: ReturnType<typeof parseDocument>) => void): Promise<void> {
  const { path, text } = await readConfigFile(workspace);
  const doc = parseDocument(text);
  if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as never;
  edit(doc);
  const updated = doc.toString();
  const source = new YamlSource(displayPath(path), updated);
  const diagnostics = validateAt(ConfigSchema, source.doc.toJS() ?? {}, source, []);
  if (diagnostics.length) throw new ConfigError(diagnostics);
  await writeFileAtomic(path, updated);
}
