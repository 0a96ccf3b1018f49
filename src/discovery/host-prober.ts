// Spillway's own probe of in-house hosts (`in_house.probe`): an HTTP GET of each host on the
// service's interval, judged by thresholds (model/probe-state.ts). Envoy tells Spillway which hosts
// it uses only once per load report; a probe sees a host die or come back within one interval, so
// capacity (and the Modal share) can follow before the next report. It publishes no health status:
// Envoy's routing is left to its own health checks and ejection.
import { Agent, request } from 'node:http';
import type { HealthCheckConfig, InHouseEndpoint, ServiceConfig } from '../config/config-types.js';
import type { Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { every, type Cancel, type Scheduler } from '../core/scheduler.js';
import { endpointKey } from '../model/cordons.js';
import { nextProbeState, type ProbeState } from '../model/probe-state.js';

/** One check of one host: true when it answered 2xx within the timeout. */
export type HostCheck = (address: string, port: number, path: string, timeoutMs: number) => Promise<boolean>;

/** The probe's states of a service's in-house hosts, by endpoint key; empty without a probe. */
export interface ProbeView {
  statesOf(service: string): ReadonlyMap<string, ProbeState>;
}

export interface HostProberOptions {
  services: () => readonly ServiceConfig[];
  /** The in-house endpoints in force (static and discovered). */
  endpointsOf: (service: string) => readonly InHouseEndpoint[];
  clock: Clock;
  scheduler: Scheduler;
  /** Called when a host of the service crosses a threshold (up or down). */
  onChange: (service: string) => void;
  check?: HostCheck;
  logger?: Logger;
}

/** How often services are checked for a probe added or removed by a reload. */
const SYNC_MS = 1000;

export class HostProber implements ProbeView {
  private readonly states = new Map<string, Map<string, ProbeState>>();
  /** Each probed service's next round, and which chain it belongs to (a chain ended and restarted by reloads is a new one). */
  private readonly chains = new Map<string, { cancel: Cancel; id: number }>();
  private nextChainId = 0;
  private readonly check: HostCheck;
  private readonly agent: Agent | undefined;
  private readonly log: Logger;
  private stopSync: Cancel | undefined;

  constructor(private readonly o: HostProberOptions) {
    this.log = (o.logger ?? silentLogger).child({ component: 'probe' });
    if (o.check) this.check = o.check;
    else {
      // Kept-alive connections: a probe is one small request, not a handshake per host per interval.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      this.agent = agent;
      this.check = httpCheck(agent);
    }
  }

  start(): void {
    this.sync();
    this.stopSync = every(this.o.scheduler, SYNC_MS, () => this.sync());
  }

  stop(): void {
    this.stopSync?.();
    for (const c of this.chains.values()) c.cancel();
    this.chains.clear();
    this.agent?.destroy();
  }

  statesOf(service: string): ReadonlyMap<string, ProbeState> {
    return this.states.get(service) ?? new Map();
  }

  private probeOf(service: string): HealthCheckConfig | undefined {
    return this.o.services().find((s) => s.name === service)?.inHouseHealth.probe;
  }

  /** Starts a chain for each service with a probe, and ends (forgetting its states) each whose probe a reload removed. */
  private sync(): void {
    const probed = new Set<string>();
    for (const s of this.o.services()) {
      if (!s.inHouseHealth.probe) continue;
      probed.add(s.name);
      if (!this.chains.has(s.name)) {
        const id = this.nextChainId++;
        this.chains.set(s.name, { id, cancel: this.o.scheduler.after(0, () => void this.round(s.name, id)) });
      }
    }
    for (const [name, chain] of this.chains) {
      if (probed.has(name)) continue;
      chain.cancel();
      this.chains.delete(name);
      this.states.delete(name);
    }
  }

  private async round(service: string, id: number): Promise<void> {
    const cfg = this.probeOf(service);
    if (!cfg) {
      if (this.chains.get(service)?.id === id) {
        this.chains.delete(service);
        this.states.delete(service);
      }
      return;
    }
    const endpoints = this.o.endpointsOf(service);
    const results = await Promise.all(endpoints.map((e) => this.check(e.address, e.port, cfg.path, cfg.timeoutMs).catch(() => false)));
    if (this.chains.get(service)?.id !== id) return; // ended (stop, or a reload) meanwhile
    const now = this.o.clock.nowMs();
    const before = this.states.get(service) ?? new Map<string, ProbeState>();
    const next = new Map<string, ProbeState>();
    const changes: string[] = [];
    endpoints.forEach((e, i) => {
      const key = endpointKey(e.address, e.port);
      const prev = before.get(key);
      const s = nextProbeState(prev, results[i]!, cfg, now);
      if (s.up !== undefined && s.up !== prev?.up) changes.push(`${key} ${s.up ? 'up' : 'down'}`);
      next.set(key, s);
    });
    this.states.set(service, next);
    if (changes.length > 0) {
      this.log.info({ service, changes }, 'in-house probe changed');
      try {
        this.o.onChange(service);
      } catch (err) {
        this.log.error({ service, error: err instanceof Error ? err.message : String(err) }, 'probe change not applied');
      }
    }
    this.chains.set(service, { id, cancel: this.o.scheduler.after(cfg.intervalMs, () => void this.round(service, id)) });
  }
}

/** GET path on the host: 2xx within the timeout passes; anything else (refused, reset, 5xx, slow) fails. */
function httpCheck(agent: Agent): HostCheck {
  return (address, port, path, timeoutMs) =>
    new Promise<boolean>((resolve) => {
      const signal = AbortSignal.timeout(timeoutMs);
      const req = request({ host: address, port, path, method: 'GET', agent, signal }, (res) => {
        res.resume();
        resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
}
