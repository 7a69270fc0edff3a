/** `inkflow push` / `inkflow pull`: move a pipeline's or a run's results to or from a remote cache. */
import { UsageError, UserInputError } from '../../errors.js';
import { formatSeconds } from '../../util/text.js';
import { openRemoteCache, type OpenedRemote } from '../../remote/open.js';
import { pipelinePushTarget, pullKeys, pullPipeline, push, runTarget, type SyncCounts, type SyncTarget } from '../../remote/sync.js';
import { integerOption, parseCommandArgs } from '../args.js';
import { EXIT } from '../report-error.js';
import { jsonReporter, listrReporter, plainReporter, type Reporter } from '../reporters.js';
import { pipelineFromArgs, workspaceRoot } from './common.js';

const OPTIONS = `  --remote <name>    the remote (default: the workspace's default_remote)
  --run <id>         a recorded run's results (an id, a unique prefix, latest or latest~N)
  --set <stage>.<param>=<value>   with a pipeline: its results for these params
  --jobs <n>         results moved at once (default 4; each moves 8 files at once)
  --json             newline-delimited JSON events on stdout
  --plain            plain lines even on a terminal`;

const PUSH_HELP = `usage: inkflow push [pipeline.yaml | --run <id>] [options]

Uploads results from the local store, signed with your key (\`inkflow remote keygen\`):
a pipeline's results for its current files and params, or a run's (default: the latest
run). Files the remote already has are not sent again, so an interrupted push resumes.
${OPTIONS}`;

const PULL_HELP = `usage: inkflow pull <pipeline.yaml | --run <id>> [options]

Downloads results into the local store and links them under artifacts/<pipeline>/.
Only entries signed by a key in the workspace's trusted_keys are accepted, and every
file is re-hashed before it is stored. Pulled results that no recorded run uses are
removed by the next \`inkflow gc\`; \`inkflow run\` records them (all cached).
${OPTIONS}`;

const FLAGS = {
  remote: { type: 'string' },
  run: { type: 'string' },
  set: { type: 'string', multiple: true },
  jobs: { type: 'string' },
  json: { type: 'boolean' },
  plain: { type: 'boolean' },
} as const;

export async function pushCommand(args: string[]): Promise<number> {
  return sync('push', args, PUSH_HELP);
}

export async function pullCommand(args: string[]): Promise<number> {
  return sync('pull', args, PULL_HELP);
}

async function sync(command: 'push' | 'pull', args: string[], help: string): Promise<number> {
  const parsed = parseCommandArgs(command, args, FLAGS, help);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length && values.run) throw new UsageError(`${command}: give a pipeline file or --run, not both`);
  if (!positionals.length && !values.run && command === 'pull') throw new UsageError(`${command}: name a pipeline file or --run <id>, e.g. \`inkflow pull pipelines/letters.yaml\``);
  const jobs = integerOption(command, 'jobs', values.jobs, { min: 1 });
  const workspace = workspaceRoot();
  const remote = await openRemoteCache(workspace, { name: values.remote, readOnly: command === 'pull' });
  if (!remote) throw new UserInputError(`${command}: no remote given and the workspace has no default_remote; pass --remote <name> or \`inkflow remote add <name> s3://bucket/prefix --default\``);
  if (command === 'push' && !remote.cache.writable) throw new UserInputError(remote.readOnlyBecause ?? `${remote.cache.description} is read-only (read_only: true in the config)`);

  const pipeline = positionals.length ? await pipelineFromArgs(command, positionals, values.set ?? []) : undefined;
  const target: SyncTarget | undefined = pipeline
    ? command === 'push' ? await pipelinePushTarget(pipeline, workspace) : undefined
    : await runTarget(workspace, values.run ?? 'latest');
  const stages = pipeline ? [...pipeline.stages.keys()] : target!.items.map((i) => i.stage);
  const live = !values.json && process.stderr.isTTY && !values.plain && !process.env.CI;
  const reporter: Reporter = values.json ? jsonReporter() : live ? await listrReporter(stages) : plainReporter();

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = performance.now();
  let counts: SyncCounts;
  try {
    const context = { workspace, remote: remote.cache, emit: reporter.sink, signal: controller.signal, jobs };
    counts = command === 'push' ? await push(target!, context) : target ? await pullKeys(target, context) : await pullPipeline(pipeline!, context);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await reporter.done();
  }
  const line = summary(command, remote, counts, (performance.now() - started) / 1000);
  if (values.json) process.stdout.write(JSON.stringify({ event: `${command}-summary`, ...counts }) + '\n');
  else process.stderr.write(line + '\n');
  if (controller.signal.aborted) return EXIT.cancelled;
  return counts.failed ? EXIT.failed : EXIT.ok;
}

function summary(command: 'push' | 'pull', remote: OpenedRemote, counts: SyncCounts, seconds: number): string {
  const verb = command === 'push' ? 'uploaded' : 'downloaded';
  const there = command === 'push' ? 'already on the remote' : 'already here';
  const parts = [`${counts.moved} result(s) ${verb}`, `${counts.present} ${there}`];
  if (counts.unavailable) parts.push(`${counts.unavailable} not available`);
  if (counts.failed) parts.push(`${counts.failed} FAILED`);
  return `${command} ${command === 'push' ? 'to' : 'from'} ${remote.cache.description}: ${parts.join(', ')} in ${formatSeconds(seconds)}`;
}
