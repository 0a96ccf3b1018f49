// Fleet-wide load. Each replica shares the live LRS reports of the Envoys connected to it (one per
// Envoy and service, with when it arrived and when it stops counting) under load/<replica>; the
// decider sums them. An Envoy counts once wherever its stream is: per Envoy and service the newest
// report wins, so an Envoy that moved to another replica is not counted again from the grace its old
// replica still gives it. A replica that dies takes its load with it: its reports stop counting when
// they expire (3 LRS intervals), and its key goes with its lease. Another replica's times are read on
// this replica's clock (offsetOf, onLocalClock): hosts' clocks differ, and a report window is only seconds.
import { Listeners } from '../core/listeners.js';
import type { Clock } from '../core/clock.js';
import { MirrorOrigin } from './mirror.js';
import { LOCALITY_KINDS } from '../model/localities.js';
import type { LocalityKind } from '../model/inputs.js';
import { sumService, type ServiceSample } from '../lrs/load-aggregator.js';
import type { LocalityRates } from '../lrs/load-report.js';
import type {
  LoadListener,
  LoadSnapshot,
  LocalLoadView,
  LocalityLoadReading,
  LoadView,
  NodeServiceSample,
  ServiceDropsReading,
  ServiceLoad,
} from '../lrs/load-view.js';
import type { Decoded } from './records.js';

/** What one replica shares: its live samples at publishedAtMs. */
export interface ReplicaLoad {
  replica: string;
  publishedAtMs: number;
  /** Envoys with an open LRS stream to the replica. */
  connectedEnvoys: number;
  samples: NodeServiceSample[];
}

type Rates = [inProgress: number, issuedRps: number, successRps: number, errorRps: number];

interface WireSample {
  /** received at, expires at (ms since the epoch) */
  t: number;
  exp: number;
  /** 1 while the Envoy's stream is open */
  c: 0 | 1;
  /** the report's window, ms */
  w: number;
  ih: Rates;
  m: Rates;
  /** drops per second by category */
  d: Record<string, number>;
}

interface WireLoad {
  replica: string;
  publishedAtMs: number;
  connectedEnvoys: number;
  /** node id → service → sample */
  nodes: Record<string, Record<string, WireSample>>;
}

const WIRE_KIND: Record<LocalityKind, 'ih' | 'm'> = { 'in-house': 'ih', modal: 'm' };

/** Compact JSON: a few hundred bytes per Envoy and service. */
export function encodeReplicaLoad(load: ReplicaLoad): string {
  const nodes: WireLoad['nodes'] = {};
  for (const s of load.samples) {
    const byService = (nodes[s.nodeId] ??= {});
    const r = s.report;
    byService[r.service] = {
      t: s.receivedAtMs,
      exp: s.expiresAtMs,
      c: s.connected ? 1 : 0,
      w: r.windowMs,
      ih: toRates(r.localities['in-house']),
      m: toRates(r.localities.modal),
      d: r.dropsRps,
    };
  }
  const wire: WireLoad = { replica: load.replica, publishedAtMs: load.publishedAtMs, connectedEnvoys: load.connectedEnvoys, nodes };
  return JSON.stringify(wire);
}

export function decodeReplicaLoad(text: string): Decoded<ReplicaLoad> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const w = raw as Partial<WireLoad> | null;
  if (typeof w !== 'object' || w === null || typeof w.replica !== 'string' || !finite(w.publishedAtMs) || !finite(w.connectedEnvoys)) {
    return { ok: false, error: 'replica, publishedAtMs and connectedEnvoys are required' };
  }
  if (typeof w.nodes !== 'object' || w.nodes === null) return { ok: false, error: 'nodes: must be an object' };
  const samples: NodeServiceSample[] = [];
  for (const [nodeId, byService] of Object.entries(w.nodes)) {
    for (const [service, s] of Object.entries(byService ?? {})) {
      const where = `nodes["${nodeId}"].${service}`;
      if (!finite(s?.t) || !finite(s.exp) || !finite(s.w) || !rates(s.ih) || !rates(s.m) || !drops(s.d)) {
        return { ok: false, error: `${where}: t, exp, w, ih, m and d must be present and numeric` };
      }
      // A report's window divides its counts (rates, and their noise): it must be positive.
      if (s.w <= 0) return { ok: false, error: `${where}: w must be a positive window in ms` };
      const localities = {} as Record<LocalityKind, LocalityRates>;
      for (const kind of LOCALITY_KINDS) localities[kind] = fromRates(s[WIRE_KIND[kind]]);
      samples.push({
        nodeId,
        receivedAtMs: s.t,
        expiresAtMs: s.exp,
        connected: s.c === 1,
        // Per-endpoint counts stay with the replica that received them (host health is judged locally).
        report: { service, windowMs: s.w, localities, dropsRps: { ...s.d }, inHouseIssued: 0, inHouseEndpoints: undefined },
      });
    }
  }
  return { ok: true, value: { replica: w.replica, publishedAtMs: w.publishedAtMs, connectedEnvoys: w.connectedEnvoys, samples } };
}

/**
 * Another replica's shared load with its times moved by offsetMs (this replica's clock minus the
 * other's) onto this replica's clock. Hosts' clocks differ: a follower's clock 3 s behind the
 * leader's would otherwise have every report it shares expire on arrival (reports count for 3 LRS
 * intervals), and one ahead would keep reports counting past their life.
 */
function onLocalClock(load: ReplicaLoad, offsetMs: number): ReplicaLoad {
  if (offsetMs === 0) return load;
  // The decoded value is this view's own copy: shifted in place.
  load.publishedAtMs += offsetMs;
  for (const s of load.samples) {
    s.receivedAtMs += offsetMs;
    s.expiresAtMs += offsetMs;
  }
  return load;
}

/**
 * How long the clock offset learned from another replica's values is trusted. Short, so a clock
 * stepped back is followed within seconds; long enough to span a watch that breaks and resumes.
 */
const OFFSET_WINDOW_MS = 10_000;

/**
 * The group's load at atMs from every replica's live samples: per Envoy and service the newest
 * report (a report that moved with its Envoy replaces the one left behind), then summed per service.
 */
export function fleetServices(sources: Iterable<readonly NodeServiceSample[]>, atMs: number): ServiceLoad[] {
  const newest = new Map<string, NodeServiceSample>();
  for (const samples of sources) {
    for (const s of samples) {
      if (atMs >= s.expiresAtMs) continue;
      const k = `${s.report.service}\u0000${s.nodeId}`;
      const had = newest.get(k);
      if (!had || s.receivedAtMs > had.receivedAtMs || (s.receivedAtMs === had.receivedAtMs && s.connected && !had.connected)) {
        newest.set(k, s);
      }
    }
  }
  const byService = new Map<string, ServiceSample[]>();
  for (const s of newest.values()) {
    const list = byService.get(s.report.service) ?? [];
    list.push(s);
    byService.set(s.report.service, list);
  }
  return [...byService.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([service, list]) => sumService(service, list, atMs));
}

/**
 * The load the leader decides from: this replica's own reports (live, straight from its LRS server)
 * and every other replica's shared ones.
 */
export class FleetLoadView implements LoadView {
  private readonly remote = new Map<string, ReplicaLoad>();
  /** Per replica, (arrival − published) of the values the watch brought lately: arrival time is its own clock's offset plus etcd's delay. */
  private readonly arrivals = new Map<string, Array<{ atMs: number; deltaMs: number }>>();
  private readonly listeners = new Listeners<[LoadSnapshot]>();

  constructor(
    private readonly clock: Clock,
    private readonly local: LocalLoadView,
    private readonly self: string,
  ) {
    local.subscribe(() => this.notify());
  }

  /**
   * Another replica's shared load arrived (undefined: its key went with its lease), from the watch
   * (just written, or replayed as the watch resumed) or a whole read (written any time before).
   */
  setRemote(replica: string, load: ReplicaLoad | undefined, origin: MirrorOrigin): void {
    if (replica === this.self) return;
    if (load) this.remote.set(replica, onLocalClock(load, this.offsetOf(replica, load, origin)));
    else this.remote.delete(replica);
    this.notify();
  }

  /**
   * This replica's clock minus the other's: the least (arrival − published) among the values the
   * watch brought in the last OFFSET_WINDOW_MS, since etcd's delay only adds to it. A value replayed
   * after a break, or read whole, is placed by that offset, so it counts for the life it has left,
   * not as if just written. With nothing learned yet, its times are taken as written.
   */
  private offsetOf(replica: string, load: ReplicaLoad, origin: MirrorOrigin): number {
    const now = this.clock.nowMs();
    const recent = (this.arrivals.get(replica) ?? []).filter((a) => now - a.atMs < OFFSET_WINDOW_MS);
    if (origin === MirrorOrigin.Watch) recent.push({ atMs: now, deltaMs: now - load.publishedAtMs });
    this.arrivals.set(replica, recent);
    return recent.length === 0 ? 0 : Math.min(...recent.map((a) => a.deltaMs));
  }

  snapshot(): LoadSnapshot {
    const atMs = this.clock.nowMs();
    const own = this.local.snapshot();
    const services = fleetServices([this.local.nodeSamples(), ...[...this.remote.values()].map((r) => r.samples)], atMs);
    // Streams and rejections are this replica's own: each replica reports the Envoys connected to it.
    return { atMs, services, connectedEnvoys: own.connectedEnvoys, rejected: own.rejected };
  }

  service(name: string): ServiceLoad | undefined {
    return this.snapshot().services.find((s) => s.service === name);
  }

  /** Envoys connected to the whole group: this replica's and, as last shared, every other's. */
  groupEnvoys(): number {
    let n = this.local.snapshot().connectedEnvoys;
    for (const r of this.remote.values()) n += r.connectedEnvoys;
    return n;
  }

  /** This replica's own Envoys' per-endpoint reports: host health is judged by each replica from its own. */
  endpointReports(service: string): ReturnType<LoadView['endpointReports']> {
    return this.local.endpointReports(service);
  }

  localityLoads(): LocalityLoadReading[] {
    return this.snapshot().services.flatMap((s) => [s.localities['in-house'], s.localities.modal]);
  }

  serviceDrops(): ServiceDropsReading[] {
    return this.snapshot().services.map((s) => s.drops);
  }

  subscribe(listener: LoadListener): () => void {
    return this.listeners.add(listener);
  }

  private notify(): void {
    if (this.listeners.size === 0) return;
    this.listeners.emit(this.snapshot());
  }
}

function toRates(r: LocalityRates): Rates {
  return [r.inProgress, r.issuedRps, r.successRps, r.errorRps];
}

function fromRates(r: Rates): LocalityRates {
  return { inProgress: r[0], issuedRps: r[1], successRps: r[2], errorRps: r[3] };
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function rates(v: unknown): v is Rates {
  return Array.isArray(v) && v.length === 4 && v.every(finite);
}

function drops(v: unknown): v is Record<string, number> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(finite);
}
