// V8 grows its young generation when most of what a scavenge finds survives, and start-up is
// exactly that: modules, Envoy's protos and the warmed push path are tens of MiB of long-lived
// objects. Left alone, the young generation reached its 2 × 16 MiB maximum before the first Envoy
// connected and kept those pages: a started Spillway with no stream held ≈ 120 MiB of RSS, 32 MiB
// of it an empty young generation. Holding V8's growth factor at 1 until the first Envoy connects
// keeps it at its initial size through start-up and while Spillway idles; serving then grows it as
// push load needs (the factor is read at each growth, so setting it at run time takes effect).
import { setFlagsFromString } from 'node:v8';

const GROWTH_FLAG = '--semi-space-growth-factor';
/** V8's own default for the flag. */
const V8_DEFAULT_GROWTH = 2;

let held = false;

/**
 * The growth factor the process was launched with (`node --semi-space-growth-factor=N`; the last one
 * wins, as in V8), else V8's default. NODE_OPTIONS may not carry this flag, so it is not looked at.
 */
function launchGrowthFactor(): number {
  let factor = V8_DEFAULT_GROWTH;
  for (const f of process.execArgv) {
    const m = /^--semi[-_]space[-_]growth[-_]factor=(\d+)$/.exec(f);
    if (m) factor = Number(m[1]);
  }
  return factor;
}

/** Keeps the young generation from growing (V8 may still shrink it) until releaseYoungGeneration(). */
export function holdYoungGeneration(): void {
  if (held) return;
  held = true;
  setFlagsFromString(`${GROWTH_FLAG}=1`);
}

/** Lets the young generation grow again, as the process was launched to. A no-op when nothing holds it. */
export function releaseYoungGeneration(): void {
  if (!held) return;
  held = false;
  setFlagsFromString(`${GROWTH_FLAG}=${launchGrowthFactor()}`);
}
