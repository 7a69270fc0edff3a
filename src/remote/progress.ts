/** Progress of one result's transfer, as the one-line bar reporters show as a stage's progress. */
import { formatBytes } from '../util/text.js';

const BAR = 20;
const EVERY_MS = 250;

export class TransferProgress {
  private bytes = 0;
  private readonly total: number;
  private readonly files: number;
  private last = 0;

  constructor(private readonly verb: string, files: readonly { size: number }[], private readonly report?: (message: string) => void) {
    this.total = files.reduce((n, f) => n + f.size, 0);
    this.files = files.length;
  }

  /** `bytes` more moved (or found already there). */
  add(bytes: number): void {
    this.bytes += bytes;
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
    return `${this.verb} [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${formatBytes(this.bytes)} of ${formatBytes(this.total)}, ${this.files} file(s)`;
  }
}
