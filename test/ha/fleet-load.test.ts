import { describe, expect, it } from 'vitest';
import { decodeReplicaLoad, encodeReplicaLoad, FleetLoadView, fleetServices } from '../../src/ha/fleet-load.js';
import { MirrorOrigin } from '../../src/ha/mirror.js';
import type { LoadSnapshot, LocalLoadView, NodeServiceSample } from '../../src/lrs/load-view.js';

/** One Envoy's report of service echo: `issued` rps in-house, a fifth of it to Modal, received at `at`. */
function sample(nodeId: string, issued: number, at: number, opts: { expiresAtMs?: number; connected?: boolean } = {}): NodeServiceSample {
  return {
    nodeId,
    receivedAtMs: at,
    expiresAtMs: opts.expiresAtMs ?? at + 3_000,
    connected: opts.connected ?? true,
    report: {
      service: 'echo',
      windowMs: 1_000,
      localities: {
        'in-house': { inProgress: issued / 10, issuedRps: issued, successRps: issued, errorRps: 0 },
        modal: { inProgress: 1, issuedRps: issued / 5, successRps: issued / 5, errorRps: 0 },
      },
      dropsRps: { drop_overload: 1 },
      inHouseIssued: 0,
      inHouseEndpoints: undefined,
    },
  };
}

const issued = (services: ReturnType<typeof fleetServices>): number => services[0]?.localities['in-house'].issuedRps ?? 0;

describe('fleet load', () => {
  it('sums the Envoys of every replica', () => {
    const replicaA = [sample('envoy-1', 20, 1_000)];
    const replicaB = [sample('envoy-2', 30, 1_200)];
    const [echo] = fleetServices([replicaA, replicaB], 1_500);
    expect(echo?.reporters).toBe(2);
    expect(echo?.localities['in-house'].issuedRps).toBe(50);
    expect(echo?.localities.modal.issuedRps).toBe(10);
    expect(echo?.drops.droppedRps).toBe(2);
    expect(echo?.observedAtMs).toBe(1_200);
  });

  it('counts an Envoy that moved to another replica once: its newest report wins over the grace its old replica gives it', () => {
    // envoy-1 reported 20 rps to replica A, then its stream closed (A still counts it for a grace);
    // it reconnected to replica B and reported 24 rps there.
    const replicaA = [sample('envoy-1', 20, 1_000, { connected: false, expiresAtMs: 2_500 }), sample('envoy-2', 10, 1_400)];
    const replicaB = [sample('envoy-1', 24, 1_900)];
    expect(issued(fleetServices([replicaA, replicaB], 2_000))).toBe(34);
    expect(issued(fleetServices([replicaB, replicaA], 2_000))).toBe(34);
    // Before its first report to B, the grace at A keeps it counted (no dip while it moves).
    expect(issued(fleetServices([replicaA], 2_000))).toBe(30);
  });

  it('leaves out reports past their expiry (a dead replica takes its load with it)', () => {
    const dead = [sample('envoy-1', 20, 1_000, { expiresAtMs: 4_000 })];
    const alive = [sample('envoy-2', 10, 4_500)];
    expect(issued(fleetServices([dead, alive], 3_999))).toBe(30);
    expect(issued(fleetServices([dead, alive], 4_000))).toBe(10);
  });

  it('round-trips what a replica shares, and refuses a malformed value naming the problem', () => {
    const load = {
      replica: 'r1',
      publishedAtMs: 5_000,
      connectedEnvoys: 2,
      samples: [sample('envoy-1', 20, 4_900), sample('envoy-2', 7, 4_950)],
    };
    const decoded = decodeReplicaLoad(encodeReplicaLoad(load));
    expect(decoded).toEqual({ ok: true, value: load });
    expect(decodeReplicaLoad('{"replica":"r1","publishedAtMs":1,"connectedEnvoys":0,"nodes":{"e":{"echo":{"t":1}}}}')).toEqual({
      ok: false,
      error: 'nodes["e"].echo: t, exp, w, ih, m and d must be present and numeric',
    });
    expect(decodeReplicaLoad('nope').ok).toBe(false);
    // A zero window would make every rate, and its noise, infinite.
    const zeroWindow = JSON.parse(encodeReplicaLoad(load)) as { nodes: Record<string, Record<string, { w: number }>> };
    for (const byService of Object.values(zeroWindow.nodes)) for (const s of Object.values(byService)) s.w = 0;
    expect(decodeReplicaLoad(JSON.stringify(zeroWindow))).toMatchObject({
      ok: false,
      error: expect.stringContaining('w must be a positive window'),
    });
  });

  /** A fleet view at a settable time, this replica's own Envoy reporting 10 rps throughout. */
  function leaderView(startMs: number): { view: FleetLoadView; at: (ms: number) => void; issuedNow: () => number } {
    let now = startMs;
    const own = [sample('envoy-own', 10, startMs - 100, { expiresAtMs: Number.MAX_SAFE_INTEGER })];
    // Only what the fleet view reads of this replica's own load.
    const local = {
      nodeSamples: () => own,
      snapshot: () => ({ atMs: now, services: fleetServices([own], now), connectedEnvoys: 1, rejected: {} as LoadSnapshot['rejected'] }),
      subscribe: () => () => {},
    } as Partial<LocalLoadView> as LocalLoadView;
    const view = new FleetLoadView({ nowMs: () => now }, local, 'leader');
    return { view, at: (ms) => (now = ms), issuedNow: () => issued([...view.snapshot().services]) };
  }

  /** What a replica shares at `publishedAtMs` by its own clock: one report received 100 ms before, counting for 3 s. */
  const shared = (replica: string, publishedAtMs: number, rps: number) => ({
    replica,
    publishedAtMs,
    connectedEnvoys: 1,
    samples: [sample(`envoy-${replica}`, rps, publishedAtMs - 100)],
  });

  it("reads another replica's reports on its own clock, whatever the other host's clock says", () => {
    const { view, at, issuedNow } = leaderView(1_000_000);
    // One follower's clock is 5 s behind this replica's, the other's 5 s ahead.
    view.setRemote('behind', shared('behind', 1_000_000 - 5_000, 20), MirrorOrigin.Watch);
    view.setRemote('ahead', shared('ahead', 1_000_000 + 5_000, 30), MirrorOrigin.Watch);
    // Both count now: read on the other clocks, the one behind would have expired 2 s ago.
    expect(issuedNow()).toBe(60);
    // And both stop counting when their 3 s are up here, not 5 s later for the one ahead.
    at(1_000_000 + 2_899);
    expect(issuedNow()).toBe(60);
    at(1_000_000 + 2_900);
    expect(issuedNow()).toBe(10);
  });

  it('counts a value read again, or replayed by a resumed watch, for the life it has left, not as if just written', () => {
    const { view, at, issuedNow } = leaderView(1_000_000);
    // Nothing learned of the other's clock yet (a restarted leader's first read): times as written.
    // Shared 10 s ago, its report long expired.
    view.setRemote('follower', shared('follower', 990_000, 20), MirrorOrigin.Read);
    expect(issuedNow()).toBe(10);
    // The follower's clock is 5 s behind; the watch brings its values as it writes them.
    at(1_001_000);
    view.setRemote('follower', shared('follower', 996_000, 20), MirrorOrigin.Watch);
    expect(issuedNow()).toBe(30);
    // The watch breaks and resumes 4 s later, replaying a value written 3 s before the break
    // (follower's clock 994_000 = 999_000 here): its report expired at 1_002_000 here.
    at(1_005_000);
    view.setRemote('follower', shared('follower', 994_000, 40), MirrorOrigin.Watch);
    expect(issuedNow()).toBe(10);
    // A whole read of a value written 1 s ago (follower's clock 999_000 = 1_004_000 here) counts 2 s more.
    view.setRemote('follower', shared('follower', 999_000, 25), MirrorOrigin.Read);
    expect(issuedNow()).toBe(35);
    at(1_006_900);
    expect(issuedNow()).toBe(10);
  });
});
