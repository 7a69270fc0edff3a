/** Where a workspace keeps its artifact store and run logs. */
import { join } from 'node:path';

export interface WorkspacePaths {
  artifacts: string;
  logs: string;
  runs: string;
  /** Cross-process locks: one per stage key being computed, and the resource ledger. */
  locks: string;
}

export function workspacePaths(workspace: string): WorkspacePaths {
  return {
    artifacts: join(workspace, 'artifacts'),
    logs: join(workspace, 'logs'),
    runs: join(workspace, 'logs', 'runs'),
    locks: join(workspace, '.inkflow', 'locks'),
  };
}
