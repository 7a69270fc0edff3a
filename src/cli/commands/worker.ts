import { availableParallelism } from 'node:os';
import { UsageError } from '../../errors.js';
import { integerOption, parseCommandArgs } from '../args.js';
import { EXIT } from '../report-error.js';
import { table, workspaceRoot } from './common.js';

const HELP = `usage: inkflow worker --redis redis://host:6379 [options]

Takes stages from the queue that \`inkflow run --executor bullmq\` fills, runs them in this
workspace (a checkout of the same repository as the runners'), uploads the results to the
remote cache, and reports back. Runs until Ctrl-C (once: finish the running stages; twice: abort them,
they are retried on other workers).

  --redis <url>           the queue's Redis (or INKFLOW_REDIS_URL); redis://:password@host:port/db
  --concurrency <n>       stages run at once (default 1)
  --resources cpu=<n>     cores handed to stages that declare \`resources: { cpu }\` (default: this machine's)
  --remote <name>         the remote cache to fetch inputs from and upload results to (default: the workspace's default remote;
                          without any, runners must share this workspace folder)
  --stall-seconds <n>     a job whose worker stops answering this long runs again elsewhere (default 30; keep it
                          above the longest time a stage blocks the event loop)`;

const STATUS_HELP = `usage: inkflow workers --redis redis://host:6379 [--json]

The queue's depth (waiting, running, delayed for a retry, failed) and what each live worker runs.`;

export async function workerCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('worker', args, {
    redis: { type: 'string' },
    concurrency: { type: 'string' },
    resources: { type: 'string' },
    remote: { type: 'string' },
    'stall-seconds': { type: 'string' },
  }, HELP);
  if (!parsed) return EXIT.ok;
  const { values, positionals } = parsed;
  if (positionals.length) throw new UsageError(`worker: unexpected argument "${positionals[0]}"\n\n${HELP}`);
  const { redisUrlFrom } = await import('../../distributed/redis-url.js');
  const redisUrl = redisUrlFrom(values.redis, 'worker');
  const concurrency = integerOption('worker', 'concurrency', values.concurrency, { min: 1 }) ?? 1;
  const cpu = parseResources(values.resources);
  const stallSeconds = integerOption('worker', 'stall-seconds', values['stall-seconds'], { min: 1 }) ?? 30;
  const workspace = workspaceRoot();
  const { remoteFromArgs } = await import('./remote-option.js');
  const remote = await remoteFromArgs(workspace, values.remote, 'worker');
  if (remote && !remote.writable) {
    throw new UsageError(`worker: ${remote.description} is read-only here; a worker uploads what it computes, so it needs a writable remote and a signing key the runners trust (\`inkflow remote keygen\`, \`inkflow remote trust\`)`);
  }
  const { startWorker } = await import('../../distributed/worker.js');
  const stamp = () => new Date().toISOString().slice(11, 19);
  const worker = await startWorker({
    redisUrl,
    workspace,
    concurrency,
    cpu,
    remote,
    stallSeconds,
    say: (line) => process.stdout.write(`[${stamp()}] ${line}\n`),
  });
  let stops = 0;
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      stops++;
      process.stdout.write(`[${stamp()}] ${signal}: ${stops === 1 ? 'finishing the running stages, taking no new ones (again to abort them)' : 'aborting the running stages; they run again on other workers'}\n`);
      void worker.close(stops > 1).then(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  process.stdout.write(`[${stamp()}] worker ${worker.id} stopped\n`);
  return EXIT.ok;
}

function parseResources(text: string | undefined): number {
  if (text === undefined) return availableParallelism();
  const match = /^cpu=(\d+)$/.exec(text.trim());
  if (!match || Number(match[1]) < 1) throw new UsageError(`worker: --resources takes cpu=<n> (n ≥ 1), got "${text}"`);
  return Number(match[1]);
}

export async function workersCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('workers', args, { redis: { type: 'string' }, json: { type: 'boolean' } }, STATUS_HELP);
  if (!parsed) return EXIT.ok;
  const { redisUrlFrom, redactRedisUrl } = await import('../../distributed/redis-url.js');
  const redisUrl = redisUrlFrom(parsed.values.redis, 'workers');
  const { queueStatus } = await import('../../distributed/status.js');
  const status = await queueStatus(redisUrl);
  if (parsed.values.json) {
    process.stdout.write(JSON.stringify(status) + '\n');
    return EXIT.ok;
  }
  const c = status.counts;
  process.stdout.write(`queue at ${redactRedisUrl(redisUrl)}: ${c.waiting} waiting, ${c.active} running, ${c.delayed} waiting to retry, ${c.failed} failed (kept a day)\n\n`);
  if (!status.workers.length) {
    process.stdout.write('no live workers; start one with `inkflow worker --redis <url>`\n');
    return EXIT.ok;
  }
  const rows = [['WORKER', 'HOST', 'SLOTS', 'CPU', 'RUNNING']];
  for (const w of status.workers) {
    rows.push([w.id, w.host, `${w.running.length}/${w.concurrency}`, String(w.cpu), w.running.map((r) => `${r.pipeline} ${r.stage} (run ${r.runId}, since ${r.since.slice(11, 19)})`).join('; ') || '-']);
  }
  process.stdout.write(table(rows) + '\n');
  return EXIT.ok;
}
