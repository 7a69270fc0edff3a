import { dependencyMap } from '../../engine/executor.js';
import { renderDag, type DagFormat } from '../../engine/dag-view.js';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import { pipelineFromArgs } from './common.js';

const HELP = `usage: inkflow dag <pipeline.yaml> [--format text|mermaid|dot]`;

export async function dagCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs('dag', args, { format: { type: 'string', default: 'text' } }, HELP);
  if (!parsed) return 0;
  const format = parsed.values.format as DagFormat;
  if (!['text', 'mermaid', 'dot'].includes(format)) throw new UsageError(`dag: unknown format "${format}"; use text, mermaid or dot`);
  const pipeline = await pipelineFromArgs('dag', parsed.positionals);
  const labels = new Map([...pipeline.stages].map(([n, s]) => [n, s.uses]));
  const edges = [...pipeline.stages.values()].flatMap((s) => Object.entries(s.inputs).map(([input, ref]) => ({ from: ref.stage, to: s.name, label: `${ref.output}→${input}` })));
  process.stdout.write(renderDag(dependencyMap(pipeline), labels, edges, format) + '\n');
  return 0;
}
