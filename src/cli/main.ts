/** `inkflow <command>`: parses arguments and hands off; heavy modules load only in the commands that need them. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../engine/yaml-source.js';
import { StageInputError } from '../engine/stage-api.js';

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: { summary: 'run a pipeline (cached stages are reused)', load: async () => (await import('./commands/run.js')).runCommand },
  validate: { summary: 'check a pipeline file without running it', load: async () => (await import('./commands/validate.js')).validateCommand },
  status: { summary: 'what is cached, what is stale, and why', load: async () => (await import('./commands/status.js')).statusCommand },
  dag: { summary: 'print the stage graph (text, mermaid or dot)', load: async () => (await import('./commands/dag.js')).dagCommand },
  runs: { summary: 'list run records, or `runs diff <a> <b>`', load: async () => (await import('./commands/runs.js')).runsCommand },
  verify: { summary: 're-hash the artifact store and report corruption', load: async () => (await import('./commands/store.js')).verifyCommand },
  gc: { summary: 'remove artifacts no kept run references', load: async () => (await import('./commands/store.js')).gcCommand },
  predict: { summary: 'recognize letters in image crops with a trained model', load: async () => (await import('./commands/predict.js')).predictCommand },
  read: { summary: 'read handwritten phrases in images as text', load: async () => (await import('./commands/read.js')).readCommand },
  schedule: { summary: 'rerun a pipeline on a cron schedule', load: async () => (await import('./commands/schedule.js')).scheduleCommand },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: inkflow <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `inkflow <command> --help` for a command\'s options.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version') {
    const { readFileSync } = await import('node:fs');
    process.stdout.write(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    const { didYouMean } = await import('../util/text.js');
    process.stderr.write(`inkflow: unknown command "${name}"${didYouMean(name, Object.keys(COMMANDS))}\n\n${usage()}\n`);
    return 2;
  }
  try {
    return await (await command.load())(rest);
  } catch (err) {
    return reportError(err);
  }
}

export function reportError(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n${err.diagnostics.length} problem(s) found; nothing was run.\n`);
    return 1;
  }
  if (err instanceof UsageError || err instanceof StageInputError) {
    process.stderr.write(`inkflow: ${err.message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
  throw err;
}

export class UsageError extends Error {}

/** parseArgs with errors turned into usage errors that name the command. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: T, help: string) {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(help + '\n');
    return undefined;
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}\n\n${help}`);
  }
}
