// Keeps each service's in-house host health current from LRS per-endpoint reports: judges every new
// report of every Envoy (model/host-health.ts) and hands the publisher a changed fleet health, which
// moves the published weights (healthy-fraction correction) and the capacity the controller reads.
import { silentLogger, type Logger } from '../core/logger.js';
import type { LoadView } from '../lrs/load-view.js';
import { fleetHealth, judgeEnvoy, type FleetHealth, type HostJudgement } from '../model/host-health.js';
import type { Publisher } from './publisher.js';

interface EnvoyVerdicts {
  receivedAtMs: number;
  verdicts: Map<string, HostJudgement>;
}

export class HostHealthTracker {
  private readonly perService = new Map<string, Map<string, EnvoyVerdicts>>();
  private readonly log: Logger;

  constructor(
    private readonly load: LoadView,
    private readonly publisher: Publisher,
    logger: Logger = silentLogger,
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
    for (const report of reports) {
      const prev = known.get(report.nodeId);
      // Each report is judged once; until the next one, its verdicts stand.
      live.set(
        report.nodeId,
        prev && prev.receivedAtMs === report.receivedAtMs
          ? prev
          : { receivedAtMs: report.receivedAtMs, verdicts: judgeEnvoy(endpoints, cordons, report, prev?.verdicts) },
      );
    }
    this.perService.set(service, live);
    const next = fleetHealth([...live.values()].map((v) => v.verdicts));
    const before = this.publisher.hostHealthOf(service);
    if (sameHealth(before, next)) return;
    const changes = [...next].filter(([k, h]) => before.get(k)?.verdict !== h.verdict).map(([k, h]) => `${k} ${h.verdict}`);
    if (changes.length > 0) this.log.info({ service, changes }, 'in-house host health changed');
    const r = this.publisher.setHostHealth(service, next);
    if (!r.ok) this.log.error({ service, errors: r.errors }, 'host health not published');
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
