import { randomBytes } from 'node:crypto';
import { integerOption, parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { workspaceRoot } from './common.js';

const HELP = `usage: inkflow ui [--port <n>] [--host <address> --token <secret>|--token auto]

Serves the dashboard (runs, run pages, compare, pipelines, playground) for this workspace.

  --port <n>        port (default 4173; 0 picks a free one)
  --host <address>  listen beyond 127.0.0.1 (e.g. 0.0.0.0); needs --token, since the dashboard can start runs
  --token <secret>  require this token (the printed address carries it); "auto" makes a random one
  --concurrency <n> runs the dashboard executes at once (default 1; more wait in a queue)
  --redis <url>     show the stage queue and what each \`inkflow worker\` runs (default: INKFLOW_REDIS_URL, if set)`;

export async function uiCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('ui', args, { port: { type: 'string' }, host: { type: 'string' }, token: { type: 'string' }, concurrency: { type: 'string' }, redis: { type: 'string' } }, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const host = values.host ?? '127.0.0.1';
  const port = integerOption('ui', 'port', values.port, { min: 0, max: 65535 }) ?? 4173;
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(host);
  if (!loopback && !values.token) throw new UsageError(`ui: --host ${host} exposes a dashboard that can start runs; add --token <secret> (or --token auto)`);
  const token = values.token === 'auto' ? randomBytes(18).toString('base64url') : values.token;
  if (token !== undefined && token.length < 12) throw new UsageError('ui: --token must be at least 12 characters');
  const concurrency = integerOption('ui', 'concurrency', values.concurrency, { min: 1 }) ?? 1;
  const redisUrl = values.redis ?? process.env.INKFLOW_REDIS_URL ? (await import('../../distributed/redis-url.js')).redisUrlFrom(values.redis, 'ui') : undefined;
  const { startUiServer } = await import('../../ui/server.js');
  const ui = await startUiServer({ workspace: workspaceRoot(), host, port, token, concurrency, redisUrl }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') throw new UsageError(`ui: port ${port} is in use; pick another with --port (0 picks a free one)`);
    throw err;
  });
  process.stdout.write(`inkflow ui: ${ui.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await ui.close();
  return 0;
}
