export const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** One decimal place, for figures people read. */
export const round1 = (v: number): number => Math.round(v * 10) / 10;
