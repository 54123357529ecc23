/** A uniform [0, 1) random source; same seed, same sequence. */
export interface SeededRandom {
  readonly seed: number;
  next(): number;
}

/**
 * xoshiro128** seeded through splitmix32 (any safe integer: 64-bit seeds keep their high bits), so that nearby seeds (1, 2, 3) give
 * unrelated streams. Small, fast and reproducible across platforms, unlike
 * `Math.random`. Without a seed, one is drawn from `Math.random` and reported back
 * through `seed` (so a caller could log and replay it).
 */
export function createSeededRandom(seed?: number): SeededRandom {
  const actual = seed ?? Math.floor(Math.random() * 0x1_0000_0000);
  let s = actual >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  // Seeds past 32 bits (OpenAI's are int64) mix in their high word; below 2^32 the
  // stream is unchanged. Negative safe integers split as two's complement.
  const high = Math.floor(actual / 0x1_0000_0000) >>> 0;
  if (high !== 0) {
    // Its own splitmix stream (offset by a constant), so that high === low cannot cancel
    // the low word's state out: seed -1 and 2^32 + 1 once gave an all-zero state.
    s = (high ^ 0x6a09e667) >>> 0;
    a ^= splitmix();
    b ^= splitmix();
    c ^= splitmix();
    d ^= splitmix();
  }
  // xoshiro never leaves the all-zero state (every draw 0): make it impossible.
  if ((a | b | c | d) === 0) a = 1;
  return {
    seed: actual,
    next() {
      const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = rotl(d, 11);
      return result / 0x1_0000_0000;
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
