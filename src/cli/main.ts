/** `inkflow <command>`: parses arguments and hands off; heavy modules load only in the commands that need them. */
import { EXIT, reportError } from './report-error.js';

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: { summary: 'run a pipeline (cached stages are reused)', load: async () => (await import('./commands/run.js')).runCommand },
  validate: { summary: 'check a pipeline file without running it', load: async () => (await import('./commands/validate.js')).validateCommand },
  status: { summary: 'what is cached, what is stale, and why', load: async () => (await import('./commands/status.js')).statusCommand },
  dag: { summary: 'print the stage graph (text, mermaid or dot)', load: async () => (await import('./commands/dag.js')).dagCommand },
  runs: { summary: 'compare runs in a table (--where, --sort, --md/--csv/--json), or `runs diff <run>...`', load: async () => (await import('./commands/runs.js')).runsCommand },
  exp: { summary: 'sweeps over params, in parallel or queued; promote the best model', load: async () => (await import('./commands/exp.js')).expCommand },
  plots: { summary: '`plots diff <run>...`: overlay the training curves of runs in one PNG', load: async () => (await import('./commands/plots.js')).plotsCommand },
  verify: { summary: 're-hash the artifact store and report corruption', load: async () => (await import('./commands/store.js')).verifyCommand },
  remote: { summary: 'shared caches on S3: add, list, remove, keygen, trust', load: async () => (await import('./commands/remote.js')).remoteCommand },
  push: { summary: 'upload a pipeline\'s or a run\'s results to a remote cache', load: async () => (await import('./commands/sync.js')).pushCommand },
  pull: { summary: 'download a pipeline\'s or a run\'s results from a remote cache', load: async () => (await import('./commands/sync.js')).pullCommand },
  gc: { summary: 'remove artifacts no kept run references (--remote: old entries on a remote)', load: async () => (await import('./commands/store.js')).gcCommand },
  predict: { summary: 'recognize letters in image crops with a trained model', load: async () => (await import('./commands/predict.js')).predictCommand },
  read: { summary: 'read handwritten phrases in images as text', load: async () => (await import('./commands/read.js')).readCommand },
  schedule: { summary: 'rerun a pipeline on a cron schedule', load: async () => (await import('./commands/schedule.js')).scheduleCommand },
  ui: { summary: 'serve the local web dashboard: runs, pipelines, models, playground', load: async () => (await import('./commands/ui.js')).uiCommand },
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
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version') {
    const { inkflowVersion } = await import('../version.js');
    process.stdout.write(`${inkflowVersion() ?? 'unknown'}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    const { didYouMean } = await import('../util/text.js');
    process.stderr.write(`inkflow: unknown command "${name}"${didYouMean(name, Object.keys(COMMANDS))}\n\n${usage()}\n`);
    return EXIT.usage;
  }
  try {
    return await (await command.load())(rest);
  } catch (err) {
    return reportError(err);
  }
}
