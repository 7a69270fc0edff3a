import { runPipeline, RunStop } from '../../engine/executor.js';
import type { ExperimentTag } from '../../engine/run-record.js';
import type { RunEvent } from '../../engine/events.js';
import { integerOption, parseCommandArgs } from '../args.js';
import { EXIT } from '../report-error.js';
import { jsonReporter, listrReporter, plainReporter, type Reporter } from '../reporters.js';
import { executorOption, pipelineFromArgs, workspaceRoot } from './common.js';
import { remoteFromArgs } from './remote-option.js';
import { UsageError } from '../../errors.js';
import type { StageExecutor } from '../../engine/stage-executor.js';
import type { RemoteCache } from '../../engine/remote-cache.js';

/** The queue to workers, connected before anything runs, so a Redis out of reach is the first thing said. */
async function bullmqExecutor(values: { redis?: string; 'redis-timeout'?: string; attempts?: string }, remote: RemoteCache | undefined): Promise<StageExecutor> {
  const { redisUrlFrom } = await import('../../distributed/redis-url.js');
  const redisUrl = redisUrlFrom(values.redis, 'run --executor bullmq');
  const timeout = integerOption('run', 'redis-timeout', values['redis-timeout'], { min: 1 }) ?? 20;
  const attempts = integerOption('run', 'attempts', values.attempts, { min: 1 }) ?? 3;
  const { BullmqExecutor } = await import('../../distributed/bullmq-executor.js');
  return BullmqExecutor.connect({ redisUrl, workspace: workspaceRoot(), remote, attempts, redisTimeoutMs: timeout * 1000 });
}

const HELP = `usage: inkflow run <pipeline.yaml> [options]

  --set <stage>.<param>=<value>   override a param for this run (repeatable; params.<name> for pipeline params)
  --only <stage>                  rerun one stage from cached upstream results
  --from <stage>                  rerun a stage and everything downstream of it
  --force                         ignore the cache
  --dry-run                       print what would run and why, run nothing
  --verify-cache                  re-hash cached results before reusing them (a cache hit
                                  otherwise checks each file's size and modification stamp)
  --concurrency <n>               stages run at once (default 2; 8 with --executor bullmq)
  --executor <in-process|bullmq>  where stages run (default: the pipeline's \`executor:\`, else in-process);
                                  bullmq sends each ready stage to \`inkflow worker\`s through Redis
  --redis <url>                   the workers' Redis (or INKFLOW_REDIS_URL), for --executor bullmq
  --redis-timeout <s>             fail the run when Redis is out of reach this long (default 20)
  --attempts <n>                  tries per stage on workers, with backoff (default 3)
  --remote <name>                 fetch missing stages from this remote cache, upload new
                                  results to it (default: the workspace's default_remote)
  --remote-read-only              fetch from the remote but never write to it (pull requests;
                                  INKFLOW_REMOTE_READ_ONLY=1 does the same for every command)
  --no-remote                     use the local cache only
  --json                          newline-delimited JSON events on stdout
  --experiment <json>             tag the run record as a variant of a sweep (set by \`inkflow exp\`)
  --plain                         plain lines even on a terminal`;

export async function runCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('run', args, {
    set: { type: 'string', multiple: true },
    only: { type: 'string' },
    from: { type: 'string' },
    force: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    'verify-cache': { type: 'boolean' },
    concurrency: { type: 'string' },
    json: { type: 'boolean' },
    plain: { type: 'boolean' },
    experiment: { type: 'string' },
    executor: { type: 'string' },
    redis: { type: 'string' },
    'redis-timeout': { type: 'string' },
    attempts: { type: 'string' },
    remote: { type: 'string' },
    'remote-read-only': { type: 'boolean' },
    'no-remote': { type: 'boolean' },
  }, HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  let concurrency = integerOption('run', 'concurrency', values.concurrency, { min: 1 });
  const pipeline = await pipelineFromArgs('run', positionals, values.set ?? []);
  const executorKind = executorOption('run', values.executor) ?? pipeline.executor ?? 'in-process';
  const distributed = executorKind === 'bullmq' && !values['dry-run'];
  if (distributed) concurrency ??= 8;
  const stages = [...pipeline.stages.keys()];
  const live = !values.json && process.stderr.isTTY && !values.plain && !values['dry-run'] && !process.env.CI;
  if (values.remote !== undefined && values['no-remote']) throw new UsageError('run: --remote and --no-remote contradict each other');
  const remote = values['dry-run'] || values['no-remote'] ? undefined : await remoteFromArgs(workspaceRoot(), values.remote, 'run', { readOnly: values['remote-read-only'] });
  const executor = distributed ? await bullmqExecutor(values, remote) : undefined;
  const reporter: Reporter = values.json ? jsonReporter() : live ? await listrReporter(stages) : plainReporter();

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(`\ninkflow: ${signal}: cancelling running stages (press Ctrl-C again to quit at once)\n`);
    controller.abort(new Error(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Started by an experiment runner: it may stop this run early, and if it dies, so does this run.
  const onMessage = (message: { stop?: string; cancel?: boolean }) => {
    if (message?.stop) controller.abort(new RunStop(message.stop));
    else if (message?.cancel) controller.abort(new Error('cancelled by the experiment runner'));
  };
  const onDisconnect = () => controller.abort(new Error('the experiment runner that started this run exited'));
  if (process.send) {
    // The runner reads our stdout; if it died, writing there must not crash the run before its record is written.
    process.stdout.on('error', () => undefined);
    process.on('message', onMessage);
    process.on('disconnect', onDisconnect);
  }

  const failures: Extract<RunEvent, { event: 'stage-end' }>[] = [];
  const result = await runPipeline(pipeline, {
    workspace: workspaceRoot(),
    force: values.force,
    only: values.only,
    from: values.from,
    dryRun: values['dry-run'],
    verifyCache: values['verify-cache'],
    concurrency,
    remote,
    signal: controller.signal,
    executor,
    experiment: values.experiment ? (JSON.parse(values.experiment) as ExperimentTag) : undefined,
    onEvent: (event) => {
      if (event.event === 'stage-end' && event.status === 'failed') failures.push(event);
      reporter.sink(event);
    },
  }).finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('message', onMessage);
    process.off('disconnect', onDisconnect);
    if (process.connected) process.disconnect();
  });
  await executor?.close?.();
  await reporter.done();
  if (values.json && result.error) process.stderr.write(`inkflow: ${result.error}\n`);
  if (live) {
    for (const f of failures) process.stderr.write(`\nstage "${f.stage}" failed:\n${f.error}\n`);
  }
  if (result.cancelled) return EXIT.cancelled;
  return result.ok ? EXIT.ok : EXIT.failed;
}
