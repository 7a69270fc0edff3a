/**
 * Runs a command (an argv array, never a shell string) as a stage. Declared data
 * files enter the cache key; declared outputs are captured as artifacts.
 * Placeholders in argv: {{out.NAME}} is where to write output NAME, {{in.NAME}}
 * is the path of a wired input, {{workspace}} the workspace root.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { defineStage, NamedMap, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { CancelledError, UserInputError } from '../src/errors.js';

const shellParams = StrictObject({
  command: Type.Array(Type.String(), { minItems: 1 }),
  outputs: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }), { default: [] }),
  deps: Type.Array(Type.String(), { default: [] }),
  env: NamedMap(Type.String(), { default: {} }),
  timeout_seconds: Type.Number({ exclusiveMinimum: 0, default: 3600 }),
  cwd: Type.Optional(Type.String()),
});

export default defineStage<Static<typeof shellParams>>({
  description: 'run a command; declared deps are hashed, declared outputs captured',
  version: 1,
  paramsSchema: shellParams,
  inputs: {},
  anyInputs: true,
  outputs: (params) => params.outputs ?? [],
  fileParams: (params) => params.deps ?? [],
  async run(ctx) {
    const { execa } = await import('execa');
    const { params } = ctx;
    const substitute = (arg: string) =>
      arg.replace(/\{\{(out|in)\.([A-Za-z0-9_-]+)\}\}|\{\{workspace\}\}/g, (match, kind?: string, name?: string) => {
        if (!kind) return ctx.workspace;
        if (kind === 'out') return ctx.output(name!);
        const path = ctx.inputs[name!];
        if (!path) throw new UserInputError(`shell: {{in.${name}}} is used but no input "${name}" is wired`);
        return path;
      });
    const argv = params.command.map(substitute);
    for (const output of params.outputs) await mkdir(dirname(ctx.output(output)), { recursive: true });
    const logFile = createWriteStream(join(ctx.logDir, 'command.log'));
    const child = execa(argv[0], argv.slice(1), {
      cwd: params.cwd ? join(ctx.workspace, params.cwd) : ctx.workspace,
      env: { ...params.env, ...(params.outputs.length ? { INKFLOW_OUT_DIR: dirname(ctx.output(params.outputs[0])) } : {}) },
      timeout: params.timeout_seconds * 1000,
      cancelSignal: ctx.signal,
      forceKillAfterDelay: 2000,
      all: true,
      buffer: false,
      stdin: 'ignore',
      reject: false,
    });
    child.all?.on('data', (chunk: Buffer) => {
      logFile.write(chunk);
      for (const line of chunk.toString().split('\n')) if (line.trim()) ctx.log.info(line);
    });
    const result = await child;
    await new Promise((resolve) => logFile.end(resolve));
    if (result.isCanceled) throw new CancelledError();
    if (result.timedOut) throw new UserInputError(`shell: ${argv[0]} timed out after ${params.timeout_seconds}s`);
    if (result.failed) {
      throw new UserInputError(`shell: \`${argv.join(' ')}\` ${result.exitCode !== undefined ? `exited with code ${result.exitCode}` : result.shortMessage}; output in ${join(ctx.logDir, 'command.log')}`);
    }
  },
});
