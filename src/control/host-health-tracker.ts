// Keeps each service's in-house host health current from LRS per-endpoint reports: judges every new
// report of every Envoy (model/host-health.ts), lays Spillway's own probe over them where it is newer
// (model/probe-evidence.ts), and hands the publisher a changed fleet health, which moves the published
// weights (healthy-fraction correction) and the capacity the controller reads.
import { silentLogger, type Logger } from '../core/logger.js';
import type { ProbeView } from '../discovery/host-prober.js';
import type { LoadView } from '../lrs/load-view.js';
import { fleetHealth, judgeEnvoy, type FleetHealth, type HostJudgement } from '../model/host-health.js';
import { probeEvidence, upOnly, withProbe } from '../model/probe-evidence.js';
import type { Publisher } from './publisher.js';

interface EnvoyVerdicts {
  receivedAtMs: number;
  verdicts: Map<string, HostJudgement>;
}

export class HostHealthTracker {
  private readonly perService = new Map<string, Map<string, EnvoyVerdicts>>();
  private readonly log: Logger;
  /** Services whose probe fails on every host: logged once per episode. */
  private readonly probeIgnored = new Set<string>();

  constructor(
    private readonly load: LoadView,
    private readonly publisher: Publisher,
    logger: Logger = silentLogger,
    private readonly probes?: ProbeView,
  ) {
    this.log = logger.child({ component: 'host-health' });
  }

  /** Re-judges every service from the latest reports; call after each LRS change. */
  update(): void {
    for (const svc of this.publisher.currentServices()) this.updateService(svc.name);
  }

  private updateService(service: string): void {
    const reports = this.load.endpointReports(service);
    const known = this.perService.get(service) ?? new Map<string, EnvoyVerdicts>();
    const live = new Map<string, EnvoyVerdicts>();
    const endpoints = this.publisher.inHouseOf(service);
    const cordons = this.publisher.cordonsOf(service);
    const { evidence, ignoredAllDown } = this.probeEvidenceOf(service, endpoints, cordons);
    const shown: Array<ReadonlyMap<string, HostJudgement>> = [];
    for (const report of reports) {
      const prev = known.get(report.nodeId);
      // Each report is judged once; until the next one, its verdicts stand (the probe's, where newer).
      const verdicts =
        prev && prev.receivedAtMs === report.receivedAtMs ? prev.verdicts : judgeEnvoy(endpoints, cordons, report, prev?.verdicts);
      // Kept for the next report: the probe's passes (a host counted back starts afresh, so a quiet
      // window does not restore the failure it had); its failures are applied on output only, so
      // they end with the probe's evidence (a reload, the all-down guard) rather than outlive it.
      const windowStartMs = report.receivedAtMs - report.windowMs;
      const kept = evidence.size > 0 ? withProbe(verdicts, windowStartMs, upOnly(evidence)) : verdicts;
      live.set(report.nodeId, { receivedAtMs: report.receivedAtMs, verdicts: kept });
      shown.push(evidence.size > 0 ? withProbe(kept, windowStartMs, evidence) : kept);
    }
    if (ignoredAllDown !== this.probeIgnored.has(service)) {
      if (ignoredAllDown) {
        this.probeIgnored.add(service);
        this.log.warn({ service }, 'in_house.probe fails on every in-house host: its failures are ignored (check probe.path)');
      } else this.probeIgnored.delete(service);
    }
    this.perService.set(service, live);
    const next = fleetHealth(shown);
    const before = this.publisher.hostHealthOf(service);
    if (sameHealth(before, next)) return;
    const changes = [...next].filter(([k, h]) => before.get(k)?.verdict !== h.verdict).map(([k, h]) => `${k} ${h.verdict}`);
    if (changes.length > 0) this.log.info({ service, changes }, 'in-house host health changed');
    const r = this.publisher.setHostHealth(service, next);
    if (!r.ok) this.log.error({ service, errors: r.errors }, 'host health not published');
  }

  private probeEvidenceOf(
    service: string,
    endpoints: Parameters<typeof probeEvidence>[0],
    cordons: Parameters<typeof probeEvidence>[1],
  ): ReturnType<typeof probeEvidence> {
    const cfg = this.publisher.service(service)?.inHouseHealth;
    const states = this.probes?.statesOf(service);
    if (!cfg?.probe || !states || states.size === 0) return { evidence: new Map(), ignoredAllDown: false };
    // Without a health check or outlier ejection of its own, Envoy uses a host that answers at once.
    const upCounts = !cfg.healthCheck && !cfg.outlierDetection;
    return probeEvidence(endpoints, cordons, states, upCounts);
  }
}

function sameHealth(a: FleetHealth, b: FleetHealth): boolean {
  if (a.size !== b.size) return false;
  for (const [key, h] of a) {
    const o = b.get(key);
    if (!o || o.verdict !== h.verdict || o.servingFraction !== h.servingFraction || o.eligibleFraction !== h.eligibleFraction) return false;
  }
  return true;
}
