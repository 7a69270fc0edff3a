/** Progress of one result's transfer, as the one-line bar reporters show as a stage's progress. */
import { formatBytes } from '../util/text.js';

const BAR = 20;
const EVERY_MS = 250;

export class TransferProgress {
  private bytes = 0;
  private present = 0;
  private readonly total: number;
  private readonly files: number;
  private last = 0;

  constructor(private readonly verb: string, files: readonly { size: number }[], private readonly report?: (message: string) => void) {
    this.total = files.reduce((n, f) => n + f.size, 0);
    this.files = files.length;
  }

  /** `bytes` more moved, or found already there (`present`) and so not moved. */
  add(bytes: number, present = false): void {
    this.bytes += bytes;
    if (present) this.present += bytes;
    const now = Date.now();
    if (this.report && now - this.last >= EVERY_MS) {
      this.last = now;
      this.report(this.line());
    }
  }

  finish(): void {
    this.report?.(this.line());
  }

  line(): string {
    const fraction = this.total ? Math.min(1, this.bytes / this.total) : 1;
    const filled = Math.round(fraction * BAR);
    const there = this.present ? ` (${this.present === this.total ? 'all' : formatBytes(this.present)} already there)` : '';
    return `${this.verb} [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${formatBytes(this.bytes)} of ${formatBytes(this.total)}, ${this.files} file(s)${there}`;
  }
}
