/**
 * One self-overwriting status line on stderr, for commands that run longer than
 * a second outside the pipeline runner. Shown only on a terminal (never in
 * pipes, logs or CI), redrawn at most every `everyMs`, and erased before the
 * command prints results, so it never mixes into them.
 */
export class StatusLine {
  private last = 0;
  private shown = false;
  private readonly live: boolean;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr, private readonly everyMs = 100) {
    this.live = Boolean(out.isTTY) && !process.env.CI;
  }

  update(message: string, force = false): void {
    if (!this.live) return;
    const now = Date.now();
    if (!force && now - this.last < this.everyMs) return;
    this.last = now;
    this.out.write(`\r\x1b[K${message}`);
    this.shown = true;
  }

  /** Erases the line, before the command prints results. */
  clear(): void {
    if (!this.live || !this.shown) return;
    this.out.write('\r\x1b[K');
    this.shown = false;
  }
}
