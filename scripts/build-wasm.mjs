// Assembles src/ml/*.wat into *.wasm beside the modules that load them, in dist/src/ml
// (the build) and src/ml (tests and tools that run the TypeScript sources; git ignores
// them there), in two variants: one importing the shared memory of tfjs' multi-threaded
// wasm build, one the plain memory of its single-threaded build (a memory import must
// match in sharedness).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import createWabt from 'wabt';

const source = 'src/ml';
const outs = ['dist/src/ml', source];
const wabt = await createWabt();
const features = { simd: true, threads: true };
for (const out of outs) mkdirSync(out, { recursive: true });
for (const file of readdirSync(source).filter((f) => f.endsWith('.wat'))) {
  const text = readFileSync(join(source, file), 'utf8');
  const name = basename(file, '.wat');
  for (const [suffix, variant] of [['', text], ['.unshared', text.replace(/\(memory (\d+) (\d+) shared\)/, '(memory $1 $2)')]]) {
    let module;
    try {
      module = wabt.parseWat(file, variant, features);
      module.validate(features);
    } catch (error) {
      // wabt's own stack trace prints its whole minified source: the message is what matters.
      console.error(`${join(source, file)}: ${error.message}`);
      process.exit(1);
    }
    const { buffer } = module.toBinary({});
    for (const out of outs) writeFileSync(join(out, `${name}${suffix}.wasm`), buffer);
    module.destroy();
  }
}
