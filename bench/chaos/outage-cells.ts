// Outages around Spillway: Modal's API down at start, down mid-run, slow; the Modal hostname not
// resolving; every Envoy cut off from Spillway (LRS silent).
import { createConnection } from 'node:net';
import { DnsFailure, type DnsClient } from '../../src/discovery/dns-client.js';
import { waitFor } from '../../tools/wait-for.js';
import { startChaosLoad } from './load.js';
import { SERVICE, startChaosRig } from './rig.js';
import { check, target, envoyConnected, medianShare, round, shareDeviation, sleep, type CellResult, type Session } from './session.js';
import { monitorShare } from './share-monitor.js';

/** A Modal share in Envoy above the cold-tier probe's. */
const REAL_SHARE = 0.05;

/**
 * Modal's API is down when Spillway starts (every RPC UNAVAILABLE), while a fresh Envoy waits for its
 * control plane. xDS must bind at once and serve the fail-safe (in-house only); the function lookup
 * is retried until Modal is back, then the service spills again by itself.
 */
export async function modalDownAtStart(o: { downMs: number; seed: number; rps: number; slowMs?: number }): Promise<CellResult> {
  const slow = o.slowMs !== undefined;
  const rig = await startChaosRig({
    spillway: 'in-process',
    deferSpillway: true,
    faults: slow ? { apiDelayMs: o.slowMs } : { apiOutage: true },
    lookupBackoff: { baseMs: 1000, maxMs: 5000 },
  });
  const monitor = monitorShare(rig.envoy, SERVICE, 200);
  try {
    const t0 = Date.now();
    const started = rig.spillway.start();
    await waitFor(() => accepts(rig.xdsPort), 10_000, 'the xDS port to accept', 5);
    const tBind = Date.now();
    await waitFor(async () => (await fetch(rig.url('/?ms=1')).catch(() => undefined))?.ok, 30_000, 'the fresh Envoy to serve', 20);
    const tServing = Date.now();
    const load = startChaosLoad({ url: rig.url(), rps: o.rps, seed: o.seed });
    await started;
    const tStarted = Date.now();
    const app = rig.spillway.app()!;
    const reasonWhileDown = app.read.service(SERVICE)!.reason;
    // Every distinct reason the service gave while the fault lasted (numbers masked), to explain a miss.
    const reasons = new Map<string, number>();
    const sampler = setInterval(() => {
      const r = app.read.service(SERVICE)!.reason.replace(/\d+(\.\d+)?/g, '#');
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }, 1_000);
    // The outage lasts downMs of load, whatever start-up took.
    await sleep(Math.max(0, tServing + o.downMs - Date.now()));
    clearInterval(sampler);
    const downSamples = monitor.between(tServing);
    const tLift = Date.now();
    const whileDown = load.tally(tServing, tLift);
    rig.fake.setFaults({});
    const lookedUp = await waitFor(
      () => (app.read.service(SERVICE)!.modalStats?.lookedUp ? Date.now() : 0),
      120_000,
      'the Modal function looked up',
    );
    // Slow calls still answer: Envoy should carry a real Modal share (not just the cold-tier probe)
    // before the lift. Read from the samples taken while slow; after the lift a wait would only ever
    // find a time after it.
    const spillingWhileSlow = slow ? downSamples.find((x) => x.share >= REAL_SHARE)?.atMs : undefined;
    const spilling =
      spillingWhileSlow ??
      (await waitFor(() => ((monitor.latest()?.share ?? 0) > 0 ? Date.now() : 0), 120_000, 'Envoy to spill to Modal again'));
    await sleep(5_000);
    const tEnd = Date.now();
    await load.stop();
    const requests = load.tally(tServing, tEnd);
    const lookupTried = slow ? 'while every Modal call was slow' : 'while Modal was down';
    return {
      cell: slow
        ? `Modal API slow from the start (every call ${o.slowMs} ms, timeout ${rig.raw['modal_api'].timeout_ms} ms), lifted after ${o.downMs / 1000} s`
        : `Modal API down at start for ${o.downMs / 1000} s`,
      seed: o.seed,
      windowS: round((tEnd - tServing) / 1000, 1),
      requests,
      recoveryMs: slow ? spilling - t0 : spilling - tLift,
      recoveryMeaning: slow ? 'Spillway start to Envoy spilling to Modal' : 'Modal back to Envoy spilling to Modal again',
      figures: {
        startToXdsBoundMs: tBind - t0,
        startToFirstLookupSettledMs: tStarted - t0,
        startToFreshEnvoyServingMs: tServing - t0,
        liftToLookedUpMs: Math.max(0, lookedUp - tLift),
        inHouseServedWhileDown: whileDown.inHouse,
        deliberateDropsWhileDown: whileDown.deliberateDrops,
        failuresWhileDown: whileDown.failures,
        reasonWhileDown,
        reasonsWhileDown: [...reasons]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([r, n]) => `${n} s: ${r}`)
          .join(' | '),
      },
      targets: [target('xDS, LRS and admin bound within 1 s of start', tBind - t0 <= 1000, `${tBind - t0} ms`)],
      checks: [
        check("xDS bound before Modal's API answered (start-up does not wait for it)", tBind < tStarted),
        check(`in-house kept serving ${lookupTried}`, whileDown.inHouse > 0),
        ...(slow
          ? [
              check(
                'it spilled to Modal although every call was slow',
                spillingWhileSlow !== undefined,
                `spilling ${spilling - t0} ms after start`,
              ),
            ]
          : [
              check(
                'the fail-safe applied while Modal was down: no Modal locality in Envoy',
                downSamples.length > 0 && downSamples.every((x) => x.share === 0),
              ),
              check('the reason said the function is not looked up yet', /not looked up yet/.test(reasonWhileDown), reasonWhileDown),
              check('recovery was automatic', spilling > tLift),
            ]),
      ],
    };
  } finally {
    monitor.stop();
    await rig.close();
  }
}

/** Modal's API goes down mid-run for downMs (the web endpoint keeps serving), then comes back. */
export async function modalDownMidRun(s: Session, o: { downMs: number; unobservable: string }): Promise<CellResult> {
  const { rig, load, monitor } = s;
  const app = rig.spillway.app()!;
  const reference = medianShare(monitor.between(Date.now() - 5_000));
  const tDown = Date.now();
  rig.fake.setFaults({ apiOutage: true });
  const failSafeAt = await waitFor(
    () => (/unobservable|fail-safe/.test(app.controller!.current(SERVICE)?.reason ?? '') ? Date.now() : 0),
    60_000,
    'the controller to notice Modal is unobservable',
  );
  const modeDuring = app.controller!.current(SERVICE)?.mode;
  await sleep(Math.max(0, tDown + o.downMs - Date.now()));
  const during = monitor.between(failSafeAt + 2_000, Date.now());
  const tLift = Date.now();
  const whileDown = load.tally(tDown, tLift);
  rig.fake.setFaults({});
  const recovered = await waitFor(
    () =>
      (monitor.latest()?.share ?? 0) >= 0.9 * reference && app.read.service(SERVICE)!.modalStats?.consecutiveFailures === 0
        ? Date.now()
        : 0,
    120_000,
    'the share back near its value before the outage',
  );
  await sleep(3_000);
  const tEnd = Date.now();
  const requests = load.tally(tDown, tEnd);
  const zero = o.unobservable === 'zero';
  const duringDev = shareDeviation(during, reference);
  return {
    cell: `Modal API down for ${o.downMs / 1000} s mid-run (unobservable: ${o.unobservable})`,
    seed: s.seed,
    windowS: round((tEnd - tDown) / 1000, 1),
    requests,
    recoveryMs: recovered - tLift,
    recoveryMeaning: 'Modal back to the share within 10 % of its value before the outage',
    figures: {
      shareBefore: round(reference),
      shareDuringMin: round(duringDev.min),
      shareDuringMax: round(duringDev.max),
      downToFailSafeMs: failSafeAt - tDown,
      modeDuring: modeDuring ?? null,
      inHouseServedWhileDown: whileDown.inHouse,
      modalServedWhileDown: whileDown.modal,
      deliberateDropsWhileDown: whileDown.deliberateDrops,
      failuresWhileDown: whileDown.failures,
    },
    targets: [],
    checks: [
      check('in-house kept serving', whileDown.inHouse > 0),
      zero
        ? check(
            'the fail-safe applied: Modal removed from Envoy',
            during.length > 0 && during.every((x) => x.share === 0),
            `share ${duringDev.min}–${duringDev.max}`,
          )
        : check('the fail-safe applied: kept spilling at the last verified capacity while Modal answered', whileDown.modal > 0),
      check('recovery was automatic', recovered > tLift),
    ],
  };
}

/** A resolver the cell can break: answers `ip` (TTL 5 s) until fail(true), then fails (SERVFAIL). */
export function breakableResolver(ip = '127.0.0.1'): { dns: DnsClient; fail(on: boolean): void; calls: () => number } {
  let failing = false;
  let calls = 0;
  return {
    dns: {
      addresses: async (name: string) => {
        calls++;
        if (failing) throw new DnsFailure(name, 'ESERVFAIL');
        return { addresses: [ip], ttlMs: 5_000 };
      },
      srv: async (name: string) => {
        throw new DnsFailure(name, 'ESERVFAIL');
      },
    },
    fail: (on) => {
      failing = on;
    },
    calls: () => calls,
  };
}

/** The Modal hostname stops resolving for failMs: the last good address must keep serving. */
export async function dnsFailure(s: Session, resolver: ReturnType<typeof breakableResolver>, o: { failMs: number }): Promise<CellResult> {
  const { load, monitor } = s;
  const reference = medianShare(monitor.between(Date.now() - 5_000));
  const address = monitor.latest()?.modalAddress;
  const callsBefore = resolver.calls();
  const t0 = Date.now();
  resolver.fail(true);
  await sleep(o.failMs);
  const t1 = Date.now();
  resolver.fail(false);
  const samples = monitor.between(t0, t1);
  const requests = load.tally(t0, t1);
  const dev = shareDeviation(samples, reference);
  return {
    cell: `Modal hostname not resolving for ${o.failMs / 1000} s`,
    seed: s.seed,
    windowS: round((t1 - t0) / 1000, 1),
    requests,
    recoveryMs: null,
    recoveryMeaning: 'nothing to recover: the last good address kept serving',
    figures: {
      failedResolutions: resolver.calls() - callsBefore,
      modalAddress: address ?? null,
      shareBefore: round(reference),
      shareMin: round(dev.min),
      shareMax: round(dev.max),
    },
    targets: [],
    checks: [
      check(
        'Envoy kept the last good Modal address',
        samples.length > 0 && samples.every((x) => x.modalAddress === address),
        String(address),
      ),
      check('Modal kept serving', requests.modal > 0),
      check('no request failed except deliberate drops', requests.failures === 0, requests.failureSamples.join('; ')),
    ],
  };
}

/**
 * Every Envoy cut off from Spillway for cutMs (ADS and LRS through a link that is cut), traffic still
 * flowing through Envoy: no decision may be taken on stale load, and the plan must hold.
 */
export async function lrsSilent(s: Session, o: { cutMs: number }): Promise<CellResult> {
  const { rig, load } = s;
  const app = rig.spillway.app()!;
  const lrsIntervalMs = rig.raw['lrs'].interval_ms as number;
  const tickMs = rig.raw['controller'].tick_ms as number;
  const publishes: number[] = [];
  const off = app.publisher.onPublish((r) => {
    if (r.changed.size > 0) publishes.push(Date.now());
  });
  const reasons: Array<{ atMs: number; reason: string }> = [];
  const sampler = setInterval(() => reasons.push({ atMs: Date.now(), reason: app.controller!.current(SERVICE)?.reason ?? '' }), 100);
  try {
    const tCut = Date.now();
    rig.proxy!.cut();
    // Reports from before the cut count for one LRS interval after the stream closes (a reconnect
    // within it keeps the demand signal); after that the controller may only hold.
    const settled = tCut + lrsIntervalMs + 2 * tickMs;
    await sleep(settled - Date.now());
    const planHeldFrom = app.publisher.plan(SERVICE);
    await sleep(Math.max(0, tCut + o.cutMs - Date.now()));
    const tRestore = Date.now();
    const planHeld = JSON.stringify(app.publisher.plan(SERVICE)) === JSON.stringify(planHeldFrom);
    rig.proxy!.restore();
    const stalePublishes = publishes.filter((t) => t >= settled && t < tRestore).length;
    const undecided = reasons.filter((r) => r.atMs >= settled && r.atMs < tRestore);
    const decidedOnStale = undecided.filter((r) => !r.reason.startsWith('holding the last plan')).length;
    const whileCut = load.tally(tCut, tRestore);
    await waitFor(() => envoyConnected(rig), 120_000, 'Envoy to reconnect');
    const tReconnect = Date.now();
    const fresh = await waitFor(
      () => reasons.find((r) => r.atMs > tReconnect && !r.reason.startsWith('holding the last plan'))?.atMs,
      60_000,
      'a decision on fresh load',
    );
    await sleep(2_000);
    const tEnd = Date.now();
    return {
      cell: `all Envoys cut off from Spillway for ${o.cutMs / 1000} s (LRS silent)`,
      seed: s.seed,
      windowS: round((tEnd - tCut) / 1000, 1),
      requests: load.tally(tCut, tEnd),
      recoveryMs: fresh - tRestore,
      recoveryMeaning: 'link back to the first decision on fresh load (includes Envoy’s own reconnect backoff)',
      figures: {
        linkBackToEnvoyReconnectedMs: tReconnect - tRestore,
        decisionsSampledWhileSilent: undecided.length,
        decisionsOnStaleLoad: decidedOnStale,
        publishesWhileSilent: stalePublishes,
        failuresWhileCut: whileCut.failures,
        modalServedWhileCut: whileCut.modal,
      },
      targets: [],
      checks: [
        check('no decision was taken on stale load (every tick held the last plan)', undecided.length > 0 && decidedOnStale === 0),
        check('nothing was published while LRS was silent, the plan held', stalePublishes === 0 && planHeld),
        // Serving on: both tiers answered throughout (a stray upstream connect error on a loaded machine is reported, not judged here).
        check(
          'Envoy kept serving both tiers on its last config',
          whileCut.modal > 0 && whileCut.inHouse > 0 && whileCut.failures <= 0.01 * whileCut.sent,
          whileCut.failureSamples.join('; '),
        ),
      ],
    };
  } finally {
    clearInterval(sampler);
    off();
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}
