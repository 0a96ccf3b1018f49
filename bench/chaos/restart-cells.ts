// Restarts and reloads: Spillway killed with -9 under load and restarted, a SIGHUP with a broken
// file, an Envoy restarted (same node id) after it NACKed.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { configFrom } from '../../tools/config-fixtures.js';
import { dumpSection, type ConfigDump } from '../../tools/envoy/config-dump.js';
import { waitFor } from '../../tools/wait-for.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { startChaosLoad } from './load.js';
import { startChaosRig } from './rig.js';
import { check, target, envoyConnected, logsAfter, round, shareDeviation, sleep, type CellResult, type Session } from './session.js';

/**
 * kill -9 Spillway under load while the controller spills, restart it after downMs, and watch what
 * Envoy runs until observeMs after it reconnected. Nothing but deliberate drops may fail, and the
 * restart must not move the Modal share: it stays within ±10 % of its pre-kill value until the
 * restarted controller decides on fresh load (the plan is restored from the state directory before
 * the first stream is served). What the controller does after that is its ordinary work; its range
 * is reported beside the range the share had in the same time before the kill.
 */
export async function killAndRestart(s: Session, o: { downMs: number; observeMs: number; apiType: string }): Promise<CellResult> {
  const { rig, load, monitor } = s;
  const tKill = Date.now();
  const before = monitor.between(tKill - o.observeMs, tKill);
  const reference = monitor.latest()?.share ?? 0;
  await rig.spillway.kill9();
  await waitFor(async () => !(await envoyConnected(rig)), 15_000, 'Envoy to see its control plane gone');
  await sleep(Math.max(0, tKill + o.downMs - Date.now()));
  const linesBefore = rig.spillway.logLines().length;
  const tRestart = Date.now();
  await rig.spillway.start();
  await waitFor(() => envoyConnected(rig), 60_000, 'Envoy to reconnect to the restarted Spillway');
  const tReconnect = Date.now();
  await sleep(o.observeMs);
  const tEnd = Date.now();

  const lines = rig.spillway.logLines();
  const restored = logsAfter(lines, linesBefore, /^resuming from the saved operating state$/)[0];
  const serving = logsAfter(lines, linesBefore, /^Spillway serving ADS and LRS$/)[0];
  type Published = { versions?: Record<string, string> };
  const lastPublishBefore = logsAfter(lines.slice(0, linesBefore), 0, /^published snapshot$/).at(-1) as Published | undefined;
  const firstPublish = logsAfter(lines, linesBefore, /^published snapshot$/)[0] as Published | undefined;
  const notes = (restored?.['restored'] as string[] | undefined) ?? [];
  const restoredFirst = restored !== undefined && serving !== undefined && lines.indexOf(restored) < lines.indexOf(serving);
  // The restarted controller's first plan change, on load reported after the restart.
  const fresh = logsAfter(lines, linesBefore, /^capacity decision$/)[0];
  const tFresh = typeof fresh?.['time'] === 'number' ? fresh['time'] : tEnd;
  const held = shareDeviation(monitor.between(tKill, tFresh), reference);
  const after = shareDeviation(monitor.between(tKill, tEnd), reference);
  const steady = shareDeviation(before, reference);
  const requests = load.tally(tKill, tEnd);
  // Content-hashed versions: the restarted Spillway's first snapshot is the last one it published before.
  const sameVersion =
    firstPublish?.versions !== undefined && JSON.stringify(firstPublish.versions) === JSON.stringify(lastPublishBefore?.versions);
  return {
    cell: `kill -9 Spillway, restart after ${o.downMs / 1000} s (${o.apiType})`,
    seed: s.seed,
    windowS: round((tEnd - tKill) / 1000, 1),
    requests,
    recoveryMs: tReconnect - tRestart,
    recoveryMeaning: 'restart to Envoy reconnected (it serves on its last config meanwhile)',
    figures: {
      preKillShare: round(reference),
      heldUntilFreshDecisionMs: tFresh - tKill,
      heldShareMin: round(held.min),
      heldShareMax: round(held.max),
      // The whole window (the controller at work after its first fresh decision), and the same
      // length of time before the kill, for comparison.
      windowShareMin: round(after.min),
      windowShareMax: round(after.max),
      beforeKillShareMin: round(steady.min),
      beforeKillShareMax: round(steady.max),
      envoyWithoutControlPlaneMs: tReconnect - tKill,
      // Process start (node, modules, Envoy's protos) until its first log line, and until xDS is served.
      restartToFirstLogMs: typeof restored?.['time'] === 'number' ? restored['time'] - tRestart : null,
      restartToXdsServingMs: typeof serving?.['time'] === 'number' ? serving['time'] - tRestart : null,
      restoredBeforeFirstStream: restoredFirst,
      firstSnapshotIsTheLastBeforeTheKill: sameVersion,
    },
    targets: [],
    checks: [
      check('no request failed except deliberate drops', requests.failures === 0, requests.failureSamples.join('; ')),
      check(
        "Envoy's Modal share stayed within ±10 % of its pre-kill value until the restarted controller decided on fresh load",
        held.relative <= 0.1,
        `pre-kill ${round(reference)}, seen ${round(held.min)}–${round(held.max)}`,
      ),
      check(
        'the controller memory was restored from the state directory before the first stream was served',
        restoredFirst && notes.some((n) => /controller memory restored/.test(n)),
        notes.join('; '),
      ),
      check('the first snapshot after the restart is the very one published before the kill (nothing new pushed)', sameVersion),
    ],
  };
}

/**
 * A SIGHUP with a broken file mid-load: the reload is refused, the error names the field, nothing
 * Envoy runs changes, nothing fails.
 */
export async function sighupBrokenFile(s: Session): Promise<CellResult> {
  const { rig, load } = s;
  const broken = structuredClone(rig.raw);
  broken['services'][0].in_house.endpoints[0].capacity = 0;
  const before = await versions(rig.envoy.configDump('?include_eds'));
  const linesBefore = rig.spillway.logLines().length;
  const t0 = Date.now();
  writeFileSync(rig.configPath, stringify(broken));
  try {
    rig.spillway.sighup();
    const refused = await waitFor(
      () => logsAfter(rig.spillway.logLines(), linesBefore, /^reload refused/)[0],
      10_000,
      'the reload to be refused',
    );
    await sleep(3_000);
    const after = await versions(rig.envoy.configDump('?include_eds'));
    const t1 = Date.now();
    const requests = load.tally(t0, t1);
    const error = String(refused['error'] ?? refused['problems'] ?? '');
    return {
      cell: 'SIGHUP with a broken config file, under load',
      seed: s.seed,
      windowS: round((t1 - t0) / 1000, 1),
      requests,
      recoveryMs: null,
      recoveryMeaning: 'nothing to recover: the last good configuration kept serving',
      figures: { error, refusedAfterMs: Number(refused['time']) - t0 },
      targets: [],
      checks: [
        check('the error names the field', error.includes('services[0].in_house.endpoints[0].capacity'), error),
        check('Envoy runs the same clusters and listeners', after.cds === before.cds && after.lds === before.lds),
        check('no request failed except deliberate drops', requests.failures === 0, requests.failureSamples.join('; ')),
      ],
    };
  } finally {
    writeFileSync(rig.configPath, stringify(rig.raw));
  }
}

/**
 * An Envoy NACKs a cluster (its CA bundle is missing on its host), the operator puts the file in place
 * and restarts Envoy with the same node id: how soon does it serve traffic again?
 */
export async function nackedEnvoyRestart(o: { apiType: 'GRPC' | 'DELTA_GRPC'; seed: number }): Promise<CellResult> {
  const rig = await startChaosRig({ spillway: 'in-process', apiType: o.apiType, staticShare: 0.3 });
  const dir = mkdtempSync(join(tmpdir(), 'spillway-nack-'));
  try {
    const app = rig.spillway.app()!;
    const caPath = join(dir, 'ca.pem');
    const moved = structuredClone(rig.raw);
    moved['services'][0].modal.ca_bundle = caPath;
    let nacked = false;
    const off = app.events.on((e) => {
      if (e.kind === 'nack' && e.typeUrl === TypeUrl.Cluster && e.detail.includes(caPath)) nacked = true;
    });
    if (!app.publisher.setServices(configFrom(moved).services).ok) throw new Error('the moved CA bundle config did not validate');
    await waitFor(() => nacked, 20_000, 'Envoy to NACK the cluster naming the missing CA bundle');
    off();
    await rig.envoy.stop();
    copyFileSync(rig.fake.caPath, caPath);
    const tStart = Date.now();
    const envoy = await rig.restartEnvoy();
    const tAdmin = Date.now();
    // Fresh connections each probe: a request that succeeds was routed by the config Envoy got now.
    await waitFor(
      async () => {
        const r = await fetch(rig.url('/?ms=1'), { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        return r?.ok;
      },
      20_000,
      'the restarted Envoy to serve',
      10,
    );
    const tServe = Date.now();
    const load = startChaosLoad({ url: rig.url('/?ms=20'), rps: 40, seed: o.seed });
    await sleep(3_000);
    await load.stop();
    const requests = load.tally();
    const modal = (await envoy.localities('echo')).get('modal');
    return {
      cell: `Envoy that NACKed, restarted with the same node id (${o.apiType})`,
      seed: o.seed,
      windowS: round((Date.now() - tStart) / 1000, 1),
      requests,
      recoveryMs: tServe - tAdmin,
      recoveryMeaning: 'Envoy admin up (process started) to the first request served',
      figures: {
        processStartToServingMs: tServe - tStart,
        processStartToAdminMs: tAdmin - tStart,
        modalLocalityWeight: modal?.weight ?? 0,
      },
      targets: [target('serves traffic within 1 s of being up', tServe - tAdmin <= 1000, `${tServe - tAdmin} ms`)],
      checks: [
        check('it serves traffic again', tServe > tAdmin),
        check('with both localities (its config, not a leftover)', (modal?.weight ?? 0) > 0 && requests.modal > 0),
        check('no request failed afterwards', requests.failures === 0, requests.failureSamples.join('; ')),
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await rig.close();
  }
}

async function versions(dumpP: Promise<ConfigDump>): Promise<{ cds?: string; lds?: string; eds?: string }> {
  const dump = await dumpP;
  const eds = dumpSection(dump, 'EndpointsConfigDump')?.['dynamic_endpoint_configs']?.[0]?.['version_info'];
  // SotW Envoys report a version per type; delta Envoys one per resource.
  const clusters = dumpSection(dump, 'ClustersConfigDump');
  const listeners = dumpSection(dump, 'ListenersConfigDump');
  return {
    cds: clusters?.['version_info'] ?? clusters?.['dynamic_active_clusters']?.[0]?.['version_info'],
    lds: listeners?.['version_info'] ?? listeners?.['dynamic_listeners']?.[0]?.['active_state']?.['version_info'],
    eds,
  };
}
