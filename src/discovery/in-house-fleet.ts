// A service's discovered in-house endpoints: every configured source (DNS, SRV, files) kept current
// and merged. Each change of the merged set is handed on at once (the publisher turns it into an
// EDS-only push, and the controller reads the new capacity on its next decision).
import type { DiscoveryConfig, EndpointSourceConfig, InHouseEndpoint, ServiceConfig } from '../config/config-types.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Scheduler } from '../core/scheduler.js';
import { mergeEndpoints } from '../model/fleet.js';
import type { DnsClient } from './dns-client.js';
import { addressReader, srvReader } from './dns-readers.js';
import { EndpointSource, sameEndpoints, type SourceReader } from './endpoint-source.js';
import { fileReader, watchFile } from './file-reader.js';
import type { SourceState } from './source-state.js';

export interface FleetDeps {
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  dns: DnsClient;
  discovery: DiscoveryConfig;
  /** The merged set of every source changed. */
  onEndpoints: (endpoints: InHouseEndpoint[]) => void;
  /** Any source's state changed (health, problem, endpoints): for the read model and metrics. */
  onState?: () => void;
}

export function describeSource(s: EndpointSourceConfig): string {
  switch (s.kind) {
    case 'dns':
      return `dns ${s.name}:${s.port}${s.family === 'any' ? '' : ` (${s.family})`}`;
    case 'srv':
      return `srv ${s.name}`;
    case 'file':
      return `file ${s.path}`;
  }
}

export class InHouseFleet {
  private readonly sources: EndpointSource[] = [];
  private readonly stops: Array<() => void> = [];
  private merged: InHouseEndpoint[] = [];

  constructor(
    readonly service: string,
    configs: readonly EndpointSourceConfig[],
    defaultCapacity: number | undefined,
    private readonly deps: FleetDeps,
  ) {
    const d = deps.discovery;
    const ttl = { minTtlMs: d.minTtlMs, maxTtlMs: d.maxTtlMs };
    for (const cfg of configs) {
      const reader: SourceReader =
        cfg.kind === 'dns'
          ? addressReader(cfg, deps.dns, ttl, defaultCapacity)
          : cfg.kind === 'srv'
            ? srvReader(cfg, deps.dns, ttl, defaultCapacity)
            : fileReader(cfg, d.filePollMs, defaultCapacity);
      const source = new EndpointSource(describeSource(cfg), reader, {
        clock: deps.clock,
        scheduler: deps.scheduler,
        graceMs: d.graceMs,
        logger: deps.logger.child({ service }),
        onChange: () => this.changed(),
      });
      this.sources.push(source);
      if (cfg.kind === 'file') this.stops.push(watchFile(cfg.path, () => source.trigger()));
    }
  }

  static forService(s: ServiceConfig, deps: FleetDeps): InHouseFleet | undefined {
    return s.inHouseSources.length > 0 ? new InHouseFleet(s.name, s.inHouseSources, s.inHouseDefaultCapacity, deps) : undefined;
  }

  /** Reads every source once (failures included) before returning, so start-up publishes what they said. */
  async start(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.start()));
  }

  stop(): void {
    for (const stop of this.stops) stop();
    for (const s of this.sources) s.stop();
  }

  endpoints(): readonly InHouseEndpoint[] {
    return this.merged;
  }

  states(): SourceState[] {
    return this.sources.map((s) => s.state());
  }

  private changed(): void {
    const next = mergeEndpoints(...this.sources.map((s) => s.state().endpoints));
    if (!sameEndpoints(next, this.merged)) {
      this.merged = next;
      this.deps.onEndpoints(next);
    }
    this.deps.onState?.();
  }
}
