import { pipelineStatus } from '../../engine/status.js';
import { parseCommandArgs } from '../args.js';
import { pipelineFromArgs, workspaceRoot } from './common.js';

const HELP = `usage: inkflow status <pipeline.yaml> [--set ...] [--json]

For each stage: cached, stale (with the params, inputs, data or code that changed), new, or blocked behind a stale upstream stage.`;

export async function statusCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('status', args, { set: { type: 'string', multiple: true }, json: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const pipeline = await pipelineFromArgs('status', parsed.positionals, parsed.values.set ?? []);
  const states = await pipelineStatus(pipeline, workspaceRoot());
  if (parsed.values.json) {
    process.stdout.write(JSON.stringify(states) + '\n');
    return 0;
  }
  const width = Math.max(...states.map((s) => s.stage.length));
  for (const s of states) {
    process.stdout.write(`${s.stage.padEnd(width)}  ${s.state}${s.key ? `  ${s.key.slice(0, 12)}` : ''}\n`);
    for (const reason of s.reasons) process.stdout.write(`${' '.repeat(width)}    - ${reason}\n`);
  }
  const stale = states.filter((s) => s.state !== 'cached').length;
  process.stdout.write(stale ? `${stale} of ${states.length} stages would run\n` : 'everything is cached\n');
  return 0;
}
