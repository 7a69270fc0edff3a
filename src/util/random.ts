/** Seeded pseudo-random numbers (mulberry32): the same seed gives the same run. */
export function rng(seed: number): () => number {
  let a = (seed >>> 0) ^ 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates in place. */
export function shuffle<E, T extends { length: number; [i: number]: E }>(items: T, random: () => number): T {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i] as E;
    items[i] = items[j] as E;
    items[j] = tmp;
  }
  return items;
}

/**
 * Runs `fn` with Math.random replaced by a seeded generator: tfjs draws its
 * weight initialisers, dropout masks and shuffles from Math.random.
 */
export async function withSeededMathRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const original = Math.random;
  Math.random = rng(seed);
  try {
    return await fn();
  } finally {
    Math.random = original;
  }
}
