// The fuzzer's source of randomness: one seed per case (derived from the run's seed, the kind and
// the case's index), so any case replays on its own: `npm run fuzz -- --seed S --replay KIND:INDEX`.
import { Rng } from '../../src/sim/prng.js';

export class Gen {
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  /** The seed of case `index` of `kind` in a run seeded `seed`. */
  static caseSeed(seed: number, kind: string, index: number): number {
    let h = (seed ^ 0x9e3779b9) >>> 0;
    for (const ch of `${kind}#${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    return h;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.rng.uniform() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.rng.uniform() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** n random bytes (past 4 KiB, a random 4 KiB block repeated: big inputs stay cheap to make). */
  bytes(n: number): Buffer {
    const block = Math.min(n, 4096);
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < block; i++) b[i] = this.int(256);
    for (let at = block; at < n; at += block) b.copy(b, at, 0, Math.min(block, n - at));
    return b;
  }

  /** A string of n characters: ASCII, control characters, or beyond the BMP (past 1,024, a random run repeated). */
  text(n: number): string {
    const alphabets = ['abcdefghijklmnopqrstuvwxyz0123456789-_./:', '\u0000\u0001\u007f\n\t "\\%', 'éß漢字🙂\u202e\ufffd'];
    const alphabet = [...this.pick(alphabets)];
    let s = '';
    for (let i = 0; i < Math.min(n, 1024); i++) s += alphabet[this.int(alphabet.length)];
    return n <= 1024 ? s : s.repeat(Math.ceil(n / 1024)).slice(0, n);
  }

  /** A length that is usually small and sometimes far over any limit. */
  length(): number {
    return this.pick([0, 1, 8, 40, 255, 257, 1025, 5000, 70_000]);
  }
}
