#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// When the reader of our output goes away (`inkflow runs --json | head -1`), stop
// writing to it quietly and let the command finish its work: no EPIPE stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code !== 'EPIPE') throw err;
    stream.write = () => true;
  });
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`inkflow: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
