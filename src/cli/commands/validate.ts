import { parseCommandArgs } from '../args.js';
import { pipelineFromArgs } from './common.js';

const HELP = `usage: inkflow validate <pipeline.yaml> [--set <stage>.<param>=<value>]...

Checks the pipeline schema, every stage's params, inputs and the graph; prints
every problem as file:line:col. Exits 0 when valid, 1 otherwise.`;

export async function validateCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('validate', args, { set: { type: 'string', multiple: true } }, HELP);
  if (!parsed) return 0;
  const pipeline = await pipelineFromArgs('validate', parsed.positionals, parsed.values.set ?? []);
  process.stdout.write(`${parsed.positionals[0]}: ok (${pipeline.stages.size} stages)\n`);
  return 0;
}
