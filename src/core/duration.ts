// google.protobuf.Duration ⇄ milliseconds, in one place. Structural types, so any generated
// Duration (input or output form) fits.

/** A Duration from milliseconds (whole ms in, exact nanos out). */
export function durationFromMs(ms: number): { seconds: string; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

/** Milliseconds of a Duration, or undefined when it is missing or malformed (negative, nanos out of range). */
export function durationMs(d: { seconds?: string | number | null; nanos?: number | null } | null | undefined): number | undefined {
  if (!d) return undefined;
  const seconds = Number(d.seconds ?? 0);
  const nanos = Number(d.nanos ?? 0);
  if (!Number.isSafeInteger(seconds) || !Number.isInteger(nanos)) return undefined;
  if (seconds < 0 || nanos < 0 || nanos >= 1e9) return undefined;
  return seconds * 1000 + nanos / 1e6;
}
