/**
 * Runs a command (an argv array, never a shell string) as a stage. Declared data
 * files enter the cache key; declared outputs are captured as artifacts.
 * Placeholders in argv: {{out.NAME}} is where to write output NAME, {{in.NAME}}
 * is the path of a wired input, {{workspace}} the workspace root.
 */
import { createWriteStream, realpathSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { defineStage, NamedMap, StrictObject, Type, type Static } from '../src/engine/stage-api.js';
import { CancelledError, UserInputError } from '../src/errors.js';
import { runInGroup } from '../src/util/process-group.js';
import { isInside } from '../src/util/paths.js';

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'fish', 'busybox']);

/** Index of the script argument when argv runs a shell with -c (`[sh, -c, script, ...]`), else -1. */
function shellScriptIndex(command: string[]): number {
  if (!SHELLS.has(basename(command[0] ?? ''))) return -1;
  const flag = command.findIndex((arg, i) => i > 0 && /^-[a-z]*c[a-z]*$/.test(arg));
  return flag < 0 ? -1 : flag + 1;
}

/** The stage's working directory, which must stay inside the workspace. */
function workingDirectory(workspace: string, cwd: string | undefined): string {
  if (!cwd) return workspace;
  const dir = resolve(workspace, cwd);
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch {
    throw new UserInputError(`shell: cwd "${cwd}" does not exist (${dir}); create it or fix the cwd param`);
  }
  if (!isInside(real, realpathSync(workspace))) throw new UserInputError(`shell: cwd "${cwd}" resolves to ${real}, outside the workspace ${workspace}; a stage runs inside its workspace`);
  return real;
}

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
  checkParams(params, spliced) {
    const script = shellScriptIndex(params.command);
    if (script < 0) return [];
    return spliced
      .filter((path) => path[0] === 'command' && path[1] === script)
      .map((path) => ({
        path,
        message: `a \${params.…} or \${env.…} value is spliced into the shell script of \`${params.command[0]} -c\`, where a value such as "; rm -rf ~" would run as a command. Pass it as an argument instead and use "$1" in the script: [${params.command[0]}, -c, 'echo "$1"', ${params.command[0]}, '\${params.name}']`,
      }));
  },
  async run(ctx) {
    const { params } = ctx;
    const cwd = workingDirectory(ctx.workspace, params.cwd);
    const substitute = (arg: string) =>
      arg.replace(/\{\{(out|in)\.([A-Za-z0-9_-]+)\}\}|\{\{workspace\}\}/g, (match, kind?: string, name?: string) => {
        if (!kind) return ctx.workspace;
        if (kind === 'out') return ctx.output(name!);
        const path = ctx.inputs[name!];
        if (!path) throw new UserInputError(`shell: {{in.${name}}} is used but no input "${name}" is wired`);
        return path;
      });
    const argv = params.command.map(substitute);
    const [firstOutput] = params.outputs;
    for (const output of params.outputs) await mkdir(dirname(ctx.output(output)), { recursive: true });
    const logFile = createWriteStream(join(ctx.logDir, 'command.log'));
    let result;
    try {
      result = await runInGroup(argv, {
        cwd,
        env: { ...process.env, ...params.env, ...(firstOutput === undefined ? {} : { INKFLOW_OUT_DIR: dirname(ctx.output(firstOutput)) }) },
        timeoutMs: params.timeout_seconds * 1000,
        signal: ctx.signal,
        killGraceMs: 2000,
        onOutput: (chunk) => {
          logFile.write(chunk);
          for (const line of chunk.toString().split('\n')) if (line.trim()) ctx.log.info(line);
        },
      });
    } catch (err) {
      await new Promise((resolve) => logFile.end(resolve));
      const code = (err as NodeJS.ErrnoException).code;
      throw new UserInputError(code === 'ENOENT' ? `shell: command not found: ${argv[0]}` : `shell: cannot run ${argv[0]}: ${(err as Error).message}`);
    }
    await new Promise((resolve) => logFile.end(resolve));
    if (result.cancelled) throw new CancelledError();
    if (result.timedOut) throw new UserInputError(`shell: ${argv[0]} timed out after ${params.timeout_seconds}s; it and every process it started were stopped`);
    if (result.exitCode !== 0) {
      const how = result.exitCode !== null ? `exited with code ${result.exitCode}` : `was killed by ${result.signal}`;
      throw new UserInputError(`shell: \`${argv.join(' ')}\` ${how}; output in ${join(ctx.logDir, 'command.log')}`);
    }
  },
});
