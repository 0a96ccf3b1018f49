// A chaos session: a rig with seeded load running through Envoy and Envoy's Modal share sampled, plus
// what every cell reports (requests split into deliberate drops and everything else, time to
// recover, the criteria it was held to).
import { waitFor } from '../../tools/wait-for.js';
import { startChaosLoad, type ChaosLoad, type Tally } from './load.js';
import { startChaosRig, SERVICE, type ChaosRig, type ChaosRigOptions } from './rig.js';
import { monitorShare, type ShareMonitor, type ShareSample } from './share-monitor.js';

export interface Check {
  what: string;
  ok: boolean;
  detail?: string;
}

/** A speed target: reported with the figure, not asserted (timings depend on the machine). */
export interface Target {
  what: string;
  met: boolean;
  value: string;
}

export interface CellResult {
  cell: string;
  seed: number;
  /** The measured window, seconds. */
  windowS: number;
  /** Requests sent in the measured window and how each ended. */
  requests: Tally;
  /** Time to recover, ms (what it is measured from and to is in recoveryMeaning); null when nothing was lost. */
  recoveryMs: number | null;
  recoveryMeaning: string;
  /** Cell-specific figures. */
  figures: Record<string, number | string | boolean | null>;
  /** The criteria the cell is held to (asserted by the CI suite). */
  checks: Check[];
  /** Speed targets, measured and reported. */
  targets: Target[];
}

export interface Session {
  rig: ChaosRig;
  load: ChaosLoad;
  monitor: ShareMonitor;
  seed: number;
  close(): Promise<void>;
}

export interface SessionOptions extends ChaosRigOptions {
  seed: number;
  rps: number;
  /** Wait until Envoy runs a Modal share above this before handing over (0: do not wait). */
  spillingAbove?: number;
  /** Then let the controller settle this long. */
  settleMs?: number;
}

export async function startSession(o: SessionOptions): Promise<Session> {
  const rig = await startChaosRig(o);
  const monitor = monitorShare(rig.envoy, SERVICE, 200);
  // Ramp up over 10 s, as traffic grows in the morning: a step from nothing would overload the
  // in-house hosts before anything could spill, and their queues would still be draining when a
  // cell starts measuring.
  let rampAt = Math.min(o.rps, 20);
  const load = startChaosLoad({ url: rig.url(), rps: rampAt, seed: o.seed });
  const ramp = setInterval(() => load.setRate((rampAt = Math.min(o.rps, rampAt + 4))), 1000);
  const s: Session = {
    rig,
    load,
    monitor,
    seed: o.seed,
    close: async () => {
      monitor.stop();
      await load.stop();
      await rig.close();
    },
  };
  try {
    await waitFor(() => rampAt >= o.rps, 60_000, 'the load ramp');
    if (o.spillingAbove) {
      await waitFor(
        () => (monitor.latest()?.share ?? 0) > o.spillingAbove!,
        60_000,
        `Envoy running a Modal share above ${o.spillingAbove}`,
      );
    }
    // Steady: no in-house queue left from the ramp.
    await waitFor(() => rig.inHouse.every((b) => b.state().queued === 0), 60_000, 'the in-house queues to drain', 200);
    if (o.settleMs) await sleep(o.settleMs);
  } catch (err) {
    await s.close();
    throw err;
  } finally {
    clearInterval(ramp);
  }
  return s;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Envoy's view of its control plane: 1 while its ADS stream is up. */
export async function envoyConnected(rig: ChaosRig): Promise<boolean> {
  const s = await rig.envoy.stats('control_plane.connected_state').catch(() => ({}) as Record<string, number>);
  return s['control_plane.connected_state'] === 1;
}

/** How far the share strays from a reference over samples: in share points and relative to the reference. */
export function shareDeviation(
  samples: readonly ShareSample[],
  reference: number,
): { min: number; max: number; points: number; relative: number } {
  if (samples.length === 0) return { min: NaN, max: NaN, points: NaN, relative: NaN };
  const shares = samples.map((s) => s.share);
  const min = Math.min(...shares);
  const max = Math.max(...shares);
  const points = Math.max(Math.abs(max - reference), Math.abs(reference - min));
  return { min, max, points, relative: reference > 0 ? points / reference : points > 0 ? Infinity : 0 };
}

/** The median share over samples (the steady value before an event). */
export function medianShare(samples: readonly ShareSample[]): number {
  const s = samples.map((x) => x.share).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
}

export const round = (x: number, digits = 3): number => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

/** A check that fails with the detail when false. */
export function check(what: string, ok: boolean, detail?: string): Check {
  return detail === undefined ? { what, ok } : { what, ok, detail };
}

/** Log lines from index on whose msg matches. */
export function logsAfter(lines: Array<Record<string, unknown>>, fromIndex: number, msg: RegExp): Array<Record<string, unknown>> {
  return lines.slice(fromIndex).filter((l) => typeof l['msg'] === 'string' && msg.test(l['msg']));
}

export function target(what: string, met: boolean, value: string): Target {
  return { what, met, value };
}
