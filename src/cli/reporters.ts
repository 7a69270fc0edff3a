/** Renders run events: listr2 on a terminal, plain lines in logs and CI, NDJSON for machines. */
import type { EventSink, RunEvent, StageStatus } from '../engine/events.js';
import { firstLine, formatSeconds } from '../util/text.js';

export interface Reporter {
  sink: EventSink;
  /** Resolves once the display has drawn its last frame. */
  done(): Promise<void>;
}

export function jsonReporter(out: NodeJS.WritableStream = process.stdout): Reporter {
  return { sink: (event) => out.write(JSON.stringify(event) + '\n'), done: async () => undefined };
}

const STATUS_WORD: Record<StageStatus, string> = { ran: 'done', cached: 'cached', failed: 'FAILED', skipped: 'skipped' };

export function plainReporter(out: NodeJS.WritableStream = process.stderr, progressEveryMs = 2000): Reporter {
  const lastProgress = new Map<string, number>();
  const stamp = () => new Date().toISOString().slice(11, 19);
  const sink = (e: RunEvent) => {
    switch (e.event) {
      case 'run-start':
        out.write(`[${stamp()}] run ${e.runId}: ${e.pipeline} (${[`${e.stages.length} stages`, ...Object.entries(e.environment).map(([k, v]) => `${k} ${v}`)].join(', ')})\n`);
        break;
      case 'stage-start':
        out.write(`[${stamp()}] ${e.stage}: running (${e.reason}, key ${e.key.slice(0, 12)})\n`);
        break;
      case 'stage-progress': {
        const now = Date.now();
        if (now - (lastProgress.get(e.stage) ?? 0) >= progressEveryMs) {
          lastProgress.set(e.stage, now);
          out.write(`[${stamp()}] ${e.stage}: ${e.message}\n`);
        }
        break;
      }
      case 'stage-log':
        out.write(`[${stamp()}] ${e.stage}: ${e.level === 'warn' ? 'warning: ' : ''}${e.message}\n`);
        break;
      case 'stage-end':
        out.write(`[${stamp()}] ${e.stage}: ${STATUS_WORD[e.status]}${e.source === 'remote' ? ' from the remote' : ''}${e.status === 'skipped' || e.status === 'failed' ? '' : ` in ${formatSeconds(e.seconds)}`}${e.reason && e.status === 'skipped' ? ` (${e.reason})` : ''}\n`);
        if (e.error) out.write(indent(e.error) + '\n');
        break;
      case 'summary':
        out.write(summaryLine(e) + '\n');
        if (e.error) out.write(`inkflow: ${e.error}\n`);
        break;
    }
  };
  return { sink, done: async () => undefined };
}

export function summaryLine(e: Extract<RunEvent, { event: 'summary' }>): string {
  const counts = new Map<StageStatus, number>();
  for (const s of Object.values(e.stages)) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  const fromRemote = Object.values(e.stages).filter((s) => s.source === 'remote').length;
  const parts = [...counts].map(([status, n]) => `${n} ${status}${status === 'cached' && fromRemote ? ` (${fromRemote} from the remote)` : ''}`).join(', ');
  const verdict = e.cancelled ? 'cancelled' : e.ok ? 'ok' : 'FAILED';
  return `run ${e.runId} ${verdict}: ${parts}`;
}

function indent(text: string): string {
  return text.split('\n').map((l) => `    ${l}`).join('\n');
}

/** listr2 task list driven by engine events: one task per stage, progress as its output line. */
export async function listrReporter(stages: string[]): Promise<Reporter> {
  const { Listr } = await import('listr2');
  type Handle = { resolve: (e: Extract<RunEvent, { event: 'stage-end' }>) => void; task?: { title: string; output: string } };
  const handles = new Map<string, Handle>();
  const ended = new Map<string, Promise<Extract<RunEvent, { event: 'stage-end' }>>>();
  for (const stage of stages) {
    ended.set(stage, new Promise((resolve) => handles.set(stage, { resolve })));
  }
  let summary = '';
  const list = new Listr(
    stages.map((stage) => ({
      title: `${stage}`,
      task: async (_, task) => {
        handles.get(stage)!.task = task;
        task.title = `${stage}: waiting`;
        const end = await ended.get(stage)!;
        const took = end.status === 'ran' || end.status === 'cached' ? `${end.source === 'remote' ? ' from the remote' : ''} (${formatSeconds(end.seconds)})` : '';
        task.title = `${stage}: ${STATUS_WORD[end.status]}${took}`;
        if (end.status === 'failed') throw new Error(end.error === undefined ? 'failed' : firstLine(end.error));
        if (end.status === 'skipped' || end.status === 'cached') task.skip(`${stage}: ${end.status === 'cached' ? `cached${took}` : `skipped${end.reason ? ` (${end.reason})` : ''}`}`);
      },
    })),
    { concurrent: true, exitOnError: false, rendererOptions: { collapseErrors: false, showErrorMessage: true } },
  );
  const running = list.run().catch(() => undefined);
  const sink = (e: RunEvent) => {
    const handle = 'stage' in e ? handles.get(e.stage) : undefined;
    if (e.event === 'stage-start' && handle?.task) handle.task.title = `${e.stage}: running`;
    if (e.event === 'stage-progress' && handle?.task) handle.task.output = e.message;
    if (e.event === 'stage-log' && handle?.task) handle.task.output = e.message;
    if (e.event === 'stage-end') handle?.resolve(e);
    if (e.event === 'summary') {
      summary = summaryLine(e) + (e.error ? `\ninkflow: ${e.error}` : '');
      for (const [name, s] of Object.entries(e.stages)) handles.get(name)?.resolve({ event: 'stage-end', stage: name, status: s.status, seconds: s.seconds });
    }
  };
  return {
    sink,
    done: async () => {
      await running;
      if (summary) process.stderr.write(summary + '\n');
    },
  };
}
