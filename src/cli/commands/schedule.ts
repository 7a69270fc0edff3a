import { schedulePipeline, validateCron } from '../../engine/scheduler.js';
import { integerOption, parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { jsonReporter, plainReporter } from '../reporters.js';
import { workspaceRoot } from './common.js';
import { loadPipeline } from '../../engine/config.js';

const HELP = `usage: inkflow schedule <pipeline.yaml> --cron "<expression>" [--set ...] [--max-runs <n>] [--json]

Runs the pipeline at every tick of a cron expression (5 fields, or 6 with seconds)
in this long-running process. Unchanged data and params make a tick a pure cache
check. A tick that arrives while a run is in progress is skipped and logged.
  --max-runs <n>   stop after n runs (skipped ticks do not count)`;

export async function scheduleCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('schedule', args, {
    cron: { type: 'string' },
    set: { type: 'string', multiple: true },
    'max-runs': { type: 'string' },
    json: { type: 'boolean' },
  }, HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const file = positionals[0];
  if (!file || !values.cron) throw new UsageError(`schedule needs a pipeline file and --cron\n\n${HELP}`);
  const maxRuns = integerOption('schedule', 'max-runs', values['max-runs'], { min: 1 });
  const problem = validateCron(values.cron);
  if (problem) throw new UsageError(`schedule: invalid --cron "${values.cron}": ${problem}`);
  await loadPipeline(file, { workspace: workspaceRoot(), overrides: values.set ?? [] });

  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const reporter = values.json ? jsonReporter() : plainReporter();
  await schedulePipeline({
    file,
    cron: values.cron,
    workspace: workspaceRoot(),
    overrides: values.set ?? [],
    maxRuns,
    signal: controller.signal,
    onEvent: reporter.sink,
    onTick: (message) => {
      const line = values.json ? JSON.stringify({ event: 'schedule', message }) : `[${new Date().toISOString()}] schedule: ${message}`;
      (values.json ? process.stdout : process.stderr).write(line + '\n');
    },
  });
  return 0;
}
