/**
 * A small, fast, seedable pseudo-random source (sfc32, seeded through splitmix32), so a
 * simulated event stream can be reproduced exactly from its seed. Not for secrets.
 */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  below(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A random (version 4 layout) UUID string. */
  uuid(): string;
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

export function createSeededRandom(seed: number): SeededRandom {
  const init = splitmix32(seed);
  let a = init();
  let b = init();
  let c = init();
  let counter = init();
  const word = (): number => {
    const t = (((a + b) >>> 0) + counter) >>> 0;
    counter = (counter + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  const hex8 = (value: number): string =>
    HEX[value >>> 24]! + HEX[(value >>> 16) & 0xff]! + HEX[(value >>> 8) & 0xff]! + HEX[value & 0xff]!;
  const random: SeededRandom = {
    next: () => word() / 4294967296,
    below: (n) => Math.floor((word() / 4294967296) * n),
    chance: (p) => word() / 4294967296 < p,
    pick: (items) => items[Math.floor((word() / 4294967296) * items.length)] as (typeof items)[number],
    uuid: () => {
      const w1 = hex8(word());
      const w2 = hex8(((word() & 0xffff0fff) | 0x00004000) >>> 0);
      const w3 = hex8(((word() & 0x3fffffff) | 0x80000000) >>> 0);
      const w4 = hex8(word());
      return `${w1}-${w2.slice(0, 4)}-${w2.slice(4)}-${w3.slice(0, 4)}-${w3.slice(4)}${w4}`;
    },
  };
  return random;
}
