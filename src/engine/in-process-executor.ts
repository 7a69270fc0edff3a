/**
 * Runs a stage in this process: waits for the cores or mutex it declares, runs it in a
 * staging directory, checks it left its inputs alone, and publishes the result with an
 * atomic rename (store.ts), so a stage killed half-way leaves nothing a later run trusts.
 * Workers (src/distributed) run their stages through this same code.
 */
import { mkdir } from 'node:fs/promises';
import { ResourceLedger } from './resources.js';
import type { StageExecutor, StageOutcome, StageTask } from './stage-executor.js';
import { makeContext, sampleMemory } from './stage-context.js';
import { changedInputs } from './store.js';
import { failIfStranded } from './stranded.js';
import { describeIoError } from '../util/fs.js';
import { UserInputError, throwIfCancelled } from '../errors.js';

export class InProcessExecutor implements StageExecutor {
  readonly kind = 'in-process';
  private readonly resources: ResourceLedger;

  /** `locks`: the workspace's locks folder, where the resource ledger lives; `cpus`: cores it hands out. */
  constructor(locks: string, cpus?: number) {
    this.resources = new ResourceLedger(locks, cpus);
  }

  async run(task: StageTask): Promise<StageOutcome> {
    const { stage, emit, signal } = task;
    const needs = stage.resources;
    const release = needs.cpu || needs.mutex
      ? await this.resources.acquire(`${task.pipeline.name}/${stage.name} (pid ${process.pid})`, needs, {
        signal,
        onWait: (blockers) => emit({ event: 'stage-progress', stage: stage.name, message: `waiting for ${needs.mutex ? `mutex "${needs.mutex}"` : `${needs.cpu} cpu`}: held by ${blockers}` }),
      })
      : async () => undefined;
    try {
      return await runStageHere(task);
    } finally {
      await release();
    }
  }
}

/** Computes one stage into the store; the caller has made sure its inputs are there. */
export async function runStageHere(task: StageTask): Promise<StageOutcome> {
  const { stage, store, key, signal } = task;
  const name = stage.name;
  task.emit({ event: 'stage-start', stage: name, key, reason: task.reason });
  await mkdir(task.logDir, { recursive: true });
  const staging = await store.begin(key);
  const metrics: Record<string, number> = {};
  const memory = sampleMemory();
  try {
    const ctx = makeContext(stage, staging.outputPath.bind(staging), task.upstream, store, {
      workspace: task.workspace,
      logDir: task.logDir,
      environment: task.environment,
      runId: task.runId,
      signal,
      metrics,
      curve: task.curve,
      emit: task.emit,
    });
    try {
      await failIfStranded(stage.definition.run(ctx), () => `stage "${name}" (${stage.uses}) stopped without finishing: its run() awaits a promise that nothing left running can settle (no timer, socket, child process or file is open). Look for a promise that is never resolved or an event that never fires.`);
    } catch (err) {
      throw ioFailure(err, name, staging.dir);
    }
    throwIfCancelled(signal);
    const inputs = Object.entries(stage.inputs).map(([input, ref]) => ({ name: input, manifest: task.upstream.get(ref.stage)!, output: ref.output }));
    const tampered = await changedInputs(store, inputs);
    if (tampered.length) {
      throw new UserInputError(`stage "${name}" changed its inputs, which belong to the artifact store: ${tampered.join('; ')}; a stage must write only to its outputs. The next run rebuilds the damaged upstream result.`);
    }
    const manifest = await staging.commit(stage.outputs, {
      pipeline: task.pipeline.name,
      stage: name,
      uses: stage.uses,
      createdAt: new Date().toISOString(),
      seconds: task.seconds(),
      ingredients: task.ingredients,
      metrics,
    }).catch((err) => {
      throw ioFailure(err, name, staging.dir);
    });
    return { manifest, metrics, peakRssBytes: memory.stop() };
  } catch (err) {
    memory.stop();
    await staging.abort();
    throw err;
  }
}

/** Out-of-space and similar failures while a stage writes: one line naming where, not a stack. */
function ioFailure(err: unknown, stage: string, dir: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EROFS') return err;
  return new UserInputError(`stage "${stage}": ${describeIoError(err, dir).message}`);
}
