/** Unit tests of the engine's pure parts: the DAG helpers and the content-addressed store. */
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { downstreamOf, findCycle, topologicalOrder, upstreamOf, type DependencyMap } from '../src/engine/dag.js';
import { ArtifactStore, hashOutput } from '../src/engine/store.js';

// a <- b <- d, a <- c <- d, e alone
const deps: DependencyMap = new Map([
  ['d', ['b', 'c']],
  ['b', ['a']],
  ['c', ['a']],
  ['a', []],
  ['e', []],
]);

describe('dag', () => {
  it('orders every stage after the stages it depends on', () => {
    const order = topologicalOrder(deps);
    expect([...order].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    for (const [node, nodeDeps] of deps) for (const dep of nodeDeps) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(node));
  });

  it('finds upstream and downstream sets', () => {
    expect([...upstreamOf(deps, 'd')].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect([...downstreamOf(deps, 'b')].sort()).toEqual(['b', 'd']);
    expect([...downstreamOf(deps, 'a')].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect([...upstreamOf(deps, 'e')]).toEqual(['e']);
  });

  it('reports a cycle as a closed path, and none for a DAG', () => {
    expect(findCycle(deps)).toBeUndefined();
    const cyclic: DependencyMap = new Map([['x', ['y']], ['y', ['z']], ['z', ['x']], ['w', []]]);
    const cycle = findCycle(cyclic);
    expect(cycle?.[0]).toBe(cycle?.at(-1));
    expect(new Set(cycle)).toEqual(new Set(['x', 'y', 'z']));
    expect(findCycle(new Map([['self', ['self']]]))).toEqual(['self', 'self']);
  });
});

describe('artifact store', () => {
  async function store() {
    return new ArtifactStore(await mkdtemp(join(tmpdir(), 'inkflow-store-')));
  }
  const fields = { pipeline: 'p', stage: 's', uses: 'u', createdAt: new Date(0).toISOString(), seconds: 1, ingredients: { format: 1, uses: 'u', version: 1, code: 'c', params: {}, inputs: {}, files: {} }, metrics: {} };

  it('publishes an object only on commit, with a manifest whose digests match the files', async () => {
    const s = await store();
    const staging = await s.begin('k1');
    await writeFile(staging.outputPath('file'), 'one');
    await mkdir(staging.outputPath('dir'));
    await writeFile(join(staging.outputPath('dir'), 'x.txt'), 'two');
    expect(await s.lookup('k1')).toBeUndefined();
    const manifest = await staging.commit(['file', 'dir'], fields);
    expect(await s.lookup('k1')).toEqual(manifest);
    expect(manifest.outputs.file?.files['.']).toMatchObject({ size: 3, sha256: (await hashOutput(s.outputPath('k1', 'file'))).files['.']?.sha256 });
    expect(Object.keys(manifest.outputs.dir?.files ?? {})).toEqual(['x.txt']);
    expect(await readFile(s.outputPath('k1', 'file'), 'utf8')).toBe('one');
    expect(await s.verify()).toEqual([]);
    expect(await readdir(s.staging)).toEqual([]);
  });

  it('refuses a commit that lacks a declared output, and abort leaves nothing', async () => {
    const s = await store();
    const staging = await s.begin('k2');
    await expect(staging.commit(['missing'], fields)).rejects.toThrow('did not write its declared output "missing"');
    await staging.abort();
    expect(await s.lookup('k2')).toBeUndefined();
    expect(await readdir(s.staging)).toEqual([]);
  });

  it('output digests depend on content and names, not on write order', async () => {
    const s = await store();
    const dir = join(s.root, 'a');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'sub', 'y'), 'y');
    await writeFile(join(dir, 'x'), 'x');
    const other = join(s.root, 'b');
    await mkdir(join(other, 'sub'), { recursive: true });
    await writeFile(join(other, 'x'), 'x');
    await writeFile(join(other, 'sub', 'y'), 'y');
    expect((await hashOutput(dir)).digest).toBe((await hashOutput(other)).digest);
    await writeFile(join(other, 'x'), 'changed');
    expect((await hashOutput(dir)).digest).not.toBe((await hashOutput(other)).digest);
  });

  it('verify names a corrupted file; remove deletes the object; link points at the latest outputs', async () => {
    const s = await store();
    const staging = await s.begin('k3');
    await writeFile(staging.outputPath('out'), 'data');
    await staging.commit(['out'], fields);
    const link = await s.link('p', 's', 'k3');
    expect(await readFile(link + '/out', 'utf8')).toBe('data');
    await writeFile(s.outputPath('k3', 'out'), 'tampered');
    expect((await s.verify()).map((p) => `${p.pipeline}/${p.stage}: ${p.message}`)).toEqual([expect.stringContaining('p/s: out/. is corrupt')]);
    await s.remove('k3');
    expect(await s.lookup('k3')).toBeUndefined();
  });
});
