import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { StageDefinition } from './stage-api.js';
import { sha256 } from '../util/hash.js';
import { isInside } from '../util/paths.js';
import { UserInputError } from '../errors.js';

/**
 * Built-in stages sit beside this module's tree: dist/stages/*.js when built, or
 * stages/*.ts when the engine itself runs from its TypeScript sources (the tests).
 */
const THIS_FILE = fileURLToPath(import.meta.url);
const BUILTIN_DIR = join(resolve(dirname(THIS_FILE), '../..'), 'stages');
const BUILTIN_EXT = extname(THIS_FILE) === '.ts' ? '.ts' : '.js';

export function builtinStageNames(): string[] {
  if (!existsSync(BUILTIN_DIR)) return [];
  return readdirSync(BUILTIN_DIR)
    .filter((f) => f.endsWith(BUILTIN_EXT))
    .map((f) => f.slice(0, -BUILTIN_EXT.length))
    .sort();
}

export function isLocalModuleRef(uses: string): boolean {
  return uses.startsWith('./') || uses.startsWith('../') || isAbsolute(uses);
}

/** The file a `uses:` value names, or undefined when it names nothing. */
export function stageModulePath(uses: string, workspace: string): string | undefined {
  if (isLocalModuleRef(uses)) {
    const file = resolve(workspace, uses);
    return existsSync(file) ? file : undefined;
  }
  const file = join(BUILTIN_DIR, `${uses}${BUILTIN_EXT}`);
  return existsSync(file) ? file : undefined;
}

/**
 * Why a local stage module may not be loaded, or undefined when it may: stage
 * code runs with the user's permissions as soon as it is imported (during
 * `validate` too), so only modules inside the workspace, or inside a folder
 * listed in INKFLOW_STAGE_PATHS, are imported.
 */
export function stageModuleRefusal(file: string, workspace: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (file.startsWith(BUILTIN_DIR)) return undefined;
  const real = realpathSync(file);
  const allowed = [workspace, ...(env.INKFLOW_STAGE_PATHS ?? '').split(delimiter).filter(Boolean)].map((dir) => {
    try {
      return realpathSync(resolve(workspace, dir));
    } catch {
      return resolve(workspace, dir);
    }
  });
  if (allowed.some((dir) => isInside(real, dir))) return undefined;
  return `${file} is outside the workspace ${workspace}; stage code runs as you when it is loaded, so only modules inside the workspace are used. Move it into the workspace, or allow its folder with INKFLOW_STAGE_PATHS=${dirname(real)}`;
}

export interface LoadedStage {
  file: string;
  definition: StageDefinition;
}

const loaded = new Map<string, Promise<LoadedStage>>();

export function loadStageModule(file: string): Promise<LoadedStage> {
  let promise = loaded.get(file);
  if (!promise) {
    promise = importStage(file);
    loaded.set(file, promise);
  }
  return promise;
}

async function importStage(file: string): Promise<LoadedStage> {
  const mod = (await importModule(file)) as { default?: unknown };
  const exported = mod.default as { default?: unknown } | undefined;
  const definition = (exported && typeof exported === 'object' && 'default' in exported ? exported.default : exported) as StageDefinition | undefined;
  if (!definition || typeof definition.run !== 'function' || !definition.paramsSchema) {
    throw new UserInputError(`${file}: a stage module must default-export defineStage({ paramsSchema, inputs, outputs, run })`);
  }
  return { file, definition };
}

/**
 * TypeScript stage modules load through tsx under plain Node. Where the host already
 * compiles TypeScript (vitest running the engine from its sources) they are imported
 * directly, so they share the engine's module instances.
 */
async function importModule(file: string): Promise<unknown> {
  const href = pathToFileURL(file).href;
  if (!['.ts', '.mts', '.cts'].includes(extname(file))) return import(href);
  try {
    return await import(href);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
  }
  return (await import('tsx/esm/api')).tsImport(href, import.meta.url);
}

// Static and dynamic imports, and files a module loads beside itself (`new URL('./kernels.wasm', import.meta.url)`).
const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"]*?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|new URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g;
const SOURCE_RE = /\.[cm]?[jt]s$/;

/**
 * SHA-256 over a module's source and every local file it imports or loads,
 * transitively, so editing a helper (or a data file such as compiled kernels) a
 * stage uses invalidates the stage's cache.
 */
export function moduleCodeHash(entry: string): Promise<string> {
  // Once per module per process: a pipeline of 100,000 stages of one module reads its code once.
  let hash = codeHashes.get(entry);
  if (!hash) {
    hash = computeCodeHash(entry);
    codeHashes.set(entry, hash);
  }
  return hash;
}

const codeHashes = new Map<string, Promise<string>>();

async function computeCodeHash(entry: string): Promise<string> {
  const seen = new Map<string, string>();
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    const bytes = await readFile(file);
    seen.set(file, sha256(bytes));
    if (!SOURCE_RE.test(file)) continue;
    for (const match of bytes.toString('utf8').matchAll(IMPORT_RE)) {
      const specifier = match[1] ?? match[2] ?? match[3];
      const target = specifier && resolveLocalImport(dirname(file), specifier);
      if (target) queue.push(target);
    }
  }
  const parts = [...seen.entries()]
    .map(([file, hash]) => `${file === entry ? '<entry>' : relativeTo(entry, file)} ${hash}`)
    .sort();
  return sha256(parts.join('\n'));
}

/**
 * `file` as seen from the entry's folder (`../src/x.js`), never by absolute path: the same code
 * checked out or installed elsewhere (another machine, a moved project) must give the same key.
 */
function relativeTo(entry: string, file: string): string {
  return relative(dirname(entry), file).split(sep).join('/');
}

function resolveLocalImport(dir: string, spec: string): string | undefined {
  const base = resolve(dir, spec);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, `${base}.js`, join(base, 'index.ts'), join(base, 'index.js')];
  return candidates.find((c) => statSync(c, { throwIfNoEntry: false })?.isFile());
}
