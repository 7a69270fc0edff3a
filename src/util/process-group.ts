/**
 * Runs a command in its own process group, so a timeout, a cancellation or the
 * end of the command reaches every process it started (`sh -c "a & b"` included),
 * not only the direct child.
 */
import { spawn } from 'node:child_process';
import { InternalError } from '../errors.js';

export interface GroupOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs?: number;
  onOutput?: (chunk: Buffer) => void;
}

export interface GroupResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
}

const liveGroups = new Set<number>();
let exitHookInstalled = false;

/** If inkflow itself exits (a second Ctrl-C), no process group it started outlives it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
  });
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is already gone.
  }
}

export function runInGroup(argv: string[], options: GroupOptions): Promise<GroupResult> {
  const [command, ...args] = argv;
  if (command === undefined) return Promise.reject(new InternalError('runInGroup: no command to run'));
  installExitHook();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const pgid = child.pid;
    const stop = () => {
      if (pgid === undefined) return;
      killGroup(pgid, 'SIGTERM');
      killTimer ??= setTimeout(() => killGroup(pgid, 'SIGKILL'), options.killGraceMs ?? 2000);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (pgid !== undefined) liveGroups.add(pgid);
    child.stdout.on('data', (chunk: Buffer) => options.onOutput?.(chunk));
    child.stderr.on('data', (chunk: Buffer) => options.onOutput?.(chunk));
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    // When the command itself ends, what it left running in the background ends too
    // (it would otherwise hold the output pipes open and the stage would hang).
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      stop();
    });
    const finish = () => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      if (pgid !== undefined) {
        killGroup(pgid, 'SIGKILL');
        liveGroups.delete(pgid);
      }
    };
    child.on('error', (err) => {
      finish();
      reject(err);
    });
    child.on('close', (code, signal) => {
      finish();
      resolve({ exitCode: exit?.code ?? code, signal: exit?.signal ?? signal, timedOut, cancelled });
    });
  });
}
