/**
 * Runs started from the dashboard: each is an `inkflow run --json` child
 * process, so a training run never blocks the server and cancelling is the same
 * SIGTERM a terminal sends. Its NDJSON events are kept and re-broadcast live.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { RunEvent } from '../engine/events.js';
import type { EpochPoint } from '../viz/specs.js';

const CLI = fileURLToPath(new URL('../../../bin/inkflow.js', import.meta.url));

export type JobStatus = 'queued' | 'running' | 'ok' | 'failed' | 'cancelled';

export interface Job {
  id: string;
  file: string;
  pipeline?: string;
  overrides: string[];
  sweep?: string;
  status: JobStatus;
  runId?: string;
  startedAt: string;
  stages: Record<string, string>;
  /** The latest progress line of each running stage (e.g. train's batch and loss). */
  progress: Record<string, string>;
  epochs: EpochPoint[];
  log: string[];
}

export interface Sweep {
  id: string;
  file: string;
  params: string[];
  jobs: string[];
  runs: string[];
}

export type LiveMessage =
  | { type: 'job'; job: Job }
  | { type: 'runs-changed' };

/** `train` logs "epoch 3: loss 0.41 acc 0.87 val_loss 0.5 val_acc 0.85 lr 1.00e-3 (...)". */
const EPOCH_LINE = /^epoch (\d+): loss ([\d.eE+-]+) acc ([\d.eE+-]+)(?: val_loss ([\d.eE+-]+) val_acc ([\d.eE+-]+))? lr ([\d.eE+-]+)/;

export function parseEpochLine(message: string): EpochPoint | undefined {
  const m = EPOCH_LINE.exec(message);
  if (!m) return undefined;
  return {
    epoch: Number(m[1]),
    loss: Number(m[2]),
    accuracy: Number(m[3]),
    ...(m[4] ? { val_loss: Number(m[4]), val_accuracy: Number(m[5]) } : {}),
    learning_rate: Number(m[6]),
  };
}

export class Jobs extends EventEmitter<{ message: [LiveMessage] }> {
  private readonly jobs = new Map<string, Job>();
  private readonly children = new Map<string, ChildProcess>();
  private readonly queue: string[] = [];
  private readonly sweepsDir: string;

  constructor(readonly workspace: string, private readonly concurrency = 1) {
    super();
    this.sweepsDir = join(workspace, 'logs', 'ui-sweeps');
  }

  list(): Job[] {
    return [...this.jobs.values()].reverse();
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  byRunId(runId: string): Job | undefined {
    return [...this.jobs.values()].find((j) => j.runId === runId);
  }

  start(file: string, overrides: string[], sweep?: string): Job {
    const job: Job = { id: randomBytes(6).toString('hex'), file, overrides, sweep, status: 'queued', startedAt: new Date().toISOString(), stages: {}, progress: {}, epochs: [], log: [] };
    this.jobs.set(job.id, job);
    this.queue.push(job.id);
    this.publish(job);
    this.pump();
    return job;
  }

  /** Every combination of the swept values, run one after another. */
  async startSweep(file: string, base: string[], grid: Record<string, string[]>): Promise<Sweep> {
    const names = Object.keys(grid);
    let combos: string[][] = [[]];
    for (const [name, values] of Object.entries(grid)) combos = combos.flatMap((c) => values.map((v) => [...c, `${name}=${v}`]));
    const sweep: Sweep = { id: `sweep-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(2).toString('hex')}`, file, params: names, jobs: [], runs: [] };
    for (const combo of combos) sweep.jobs.push(this.start(file, [...base, ...combo], sweep.id).id);
    await this.saveSweep(sweep);
    return sweep;
  }

  cancel(id: string): boolean {
    const job = this.jobs.get(id);
    if (!job) return false;
    if (job.status === 'queued') {
      this.queue.splice(this.queue.indexOf(id), 1);
      job.status = 'cancelled';
      this.publish(job);
      return true;
    }
    const child = this.children.get(id);
    if (!child) return false;
    child.kill('SIGTERM');
    return true;
  }

  async sweeps(): Promise<Sweep[]> {
    const files = (await readdir(this.sweepsDir).catch(() => [] as string[])).filter((f) => /^sweep-[\w-]+\.json$/.test(f)).sort().reverse();
    return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(this.sweepsDir, f), 'utf8')) as Sweep));
  }

  /** Stops every child this server started (on shutdown). */
  stopAll(): void {
    this.queue.length = 0;
    for (const child of this.children.values()) child.kill('SIGTERM');
  }

  private async saveSweep(sweep: Sweep): Promise<void> {
    await mkdir(this.sweepsDir, { recursive: true });
    await writeFile(join(this.sweepsDir, `${sweep.id}.json`), JSON.stringify(sweep, null, 2) + '\n');
  }

  private pump(): void {
    while (this.children.size < this.concurrency && this.queue.length) this.launch(this.jobs.get(this.queue.shift()!)!);
  }

  private launch(job: Job): void {
    const args = [CLI, 'run', job.file, '--json', ...job.overrides.flatMap((o) => ['--set', o])];
    const child = spawn(process.execPath, args, { cwd: this.workspace, env: { ...process.env, INKFLOW_WORKSPACE: this.workspace }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.set(job.id, child);
    job.status = 'running';
    this.publish(job);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let event: RunEvent | { event: 'stage-epoch'; stage: string; epoch: number; metrics: Record<string, number> };
      try {
        event = JSON.parse(line);
      } catch {
        this.appendLog(job, line);
        return;
      }
      this.apply(job, event);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => this.appendLog(job, line));
    child.on('close', async (code) => {
      this.children.delete(job.id);
      job.status = code === 0 ? 'ok' : code === 130 || child.signalCode === 'SIGTERM' ? 'cancelled' : 'failed';
      if (job.sweep && job.runId) await this.recordSweepRun(job.sweep, job.runId).catch(() => undefined);
      this.publish(job);
      this.emit('message', { type: 'runs-changed' });
      this.pump();
    });
  }

  private apply(job: Job, event: RunEvent | { event: 'stage-epoch'; stage: string; epoch: number; metrics: Record<string, number> }): void {
    switch (event.event) {
      case 'run-start':
        job.runId = event.runId;
        job.pipeline = event.pipeline;
        for (const s of event.stages) job.stages[s] = 'pending';
        break;
      case 'stage-start':
        job.stages[event.stage] = 'running';
        break;
      case 'stage-progress':
        job.progress[event.stage] = event.message;
        this.publishSoon(job);
        return;
      case 'stage-end':
        job.stages[event.stage] = event.status;
        delete job.progress[event.stage];
        if (event.error) this.appendLog(job, `${event.stage}: ${event.error.split('\n')[0]}`, false);
        break;
      case 'stage-log': {
        this.appendLog(job, `${event.stage}: ${event.message}`, false);
        const epoch = parseEpochLine(event.message);
        if (epoch && !job.epochs.some((e) => e.epoch === epoch.epoch)) job.epochs.push(epoch);
        break;
      }
      case 'stage-epoch':
        job.epochs = [...job.epochs.filter((e) => e.epoch !== event.epoch), { ...event.metrics, epoch: event.epoch }];
        break;
      default:
        return;
    }
    this.publish(job);
  }

  private appendLog(job: Job, line: string, publish = true): void {
    job.log.push(line);
    if (job.log.length > 300) job.log.splice(0, job.log.length - 300);
    if (publish) this.publishSoon(job);
  }

  private readonly pending = new Map<string, NodeJS.Timeout>();

  /** Progress and log lines arrive per batch: they reach browsers at most a few times a second. */
  private publishSoon(job: Job): void {
    if (this.pending.has(job.id)) return;
    this.pending.set(job.id, setTimeout(() => {
      this.pending.delete(job.id);
      this.emit('message', { type: 'job', job });
    }, 300));
  }

  private async recordSweepRun(sweepId: string, runId: string): Promise<void> {
    const file = join(this.sweepsDir, `${sweepId}.json`);
    const sweep = JSON.parse(await readFile(file, 'utf8')) as Sweep;
    if (!sweep.runs.includes(runId)) sweep.runs.push(runId);
    await writeFile(file, JSON.stringify(sweep, null, 2) + '\n');
  }

  private publish(job: Job): void {
    clearTimeout(this.pending.get(job.id));
    this.pending.delete(job.id);
    this.emit('message', { type: 'job', job });
  }
}
