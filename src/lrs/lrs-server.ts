// gRPC glue for envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats.
// Envoy opens the stream and sends its node; Spillway answers with the clusters to report and the
// interval; from then on Envoy sends one report per interval without waiting for replies. A new
// reply (cluster set or interval changed) starts a new reporting epoch on that Envoy.
import { durationFromMs } from '../core/duration.js';
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { every, type Cancel, type Scheduler } from '../core/scheduler.js';
import type { LoadReportingServiceHandlers } from '../generated/envoy/service/load_stats/v3/LoadReportingService.js';
import type { LoadStatsRequest__Output } from '../generated/envoy/service/load_stats/v3/LoadStatsRequest.js';
import type { LoadStatsResponse } from '../generated/envoy/service/load_stats/v3/LoadStatsResponse.js';
import type { SpillwayProtos } from '../protos/load-protos.js';
import { DEFAULT_XDS_LIMITS, LIMIT_PATHS } from '../config/security-config.js';
import { refusalOf, withBoundedRequests } from '../xds/bounded-requests.js';
import { StreamTicket, XdsGate } from '../xds/xds-gate.js';
import { LoadAggregator } from './load-aggregator.js';
import type { ReportLimits } from './load-report.js';
import { mayAskEarlyReport } from './early-report.js';
import { AggregatedLoadView, type LocalLoadView } from './load-view.js';

export const DEFAULT_LRS_INTERVAL_MS = 1000;
/**
 * Follow-ups go to a few Envoys only. Many Envoys' reports are spread over the interval, so the sum
 * is brought up to date within a fraction of it anyway; and an early report restarts each Envoy's
 * timer at the same moment, so thousands would from then on report in one burst.
 */
export const MAX_FOLLOW_UP_ENVOYS = 16;

export interface LrsServiceOptions {
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  /** Services (= cluster names) Envoys should report on. Re-read on every refresh and sweep. */
  clusters: () => readonly string[];
  /** load_reporting_interval sent to Envoy. Default 1 s. */
  intervalMs?: number;
  /** Silence after which an Envoy's report stops counting. Default 3 intervals. */
  expireAfterMs?: number;
  /** How long a disconnected Envoy's last report still counts. Default 1 interval. */
  disconnectGraceMs?: number;
  limits?: ReportLimits;
  /**
   * Limits and identity on the shared xDS port: streams, rate, node binding and lrs.reporters.
   * Default: the default limits, no identity rule, any reporter.
   */
  gate?: XdsGate;
}

export interface LrsService {
  /** Pass to grpc.Server#addService, or use addLrsService(). */
  readonly handlers: LoadReportingServiceHandlers;
  readonly view: LocalLoadView;
  /** Re-reads clusters() and re-instructs every Envoy whose cluster set or interval is out of date. */
  refresh(): void;
  /** Changes the reporting interval and re-instructs every Envoy. */
  setIntervalMs(ms: number): void;
  /**
   * Asks every reporting Envoy for its next report `afterMs` from now (shorter than the interval),
   * then the usual interval again; never an Envoy whose early report is still due (early-report.ts),
   * and only while at most MAX_FOLLOW_UP_ENVOYS report. `groupEnvoys`: in replica mode, how many
   * Envoys the whole group would ask at once (every replica asks its own); the cap counts the larger
   * of that and this server's own. Returns how many were asked.
   */
  followUp(afterMs: number, groupEnvoys?: number): number;
  /** Node ids with an open LRS stream. */
  connectedNodes(): string[];
  /** Stops the expiry sweep and ends every open stream. */
  close(): void;
}

type LrsCall = grpc.ServerDuplexStream<LoadStatsRequest__Output, LoadStatsResponse>;

interface StreamState {
  id: number;
  call: LrsCall;
  ticket: StreamTicket;
  nodeId?: string;
  /** What this Envoy was last told, to re-send only on change. */
  instructedKey?: string;
  /** Told to report sooner: its next report restores the usual interval. */
  followingUp: boolean;
  lastFollowUpAtMs?: number;
  closed: boolean;
}

export function createLrsService(options: LrsServiceOptions): LrsService {
  const { clock, scheduler } = options;
  const logger = options.logger.child({ component: 'lrs' });
  let intervalMs = validInterval(options.intervalMs ?? DEFAULT_LRS_INTERVAL_MS);
  const expiryFor = (ms: number): { expireAfterMs: number; disconnectGraceMs: number } => ({
    expireAfterMs: options.expireAfterMs ?? 3 * ms,
    disconnectGraceMs: options.disconnectGraceMs ?? ms,
  });
  const aggregator = new LoadAggregator({
    ...expiryFor(intervalMs),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const view = new AggregatedLoadView(clock, aggregator);
  const streams = new Set<StreamState>();
  let nextStreamId = 1;
  let clusters: string[] = [];
  const gate = options.gate ?? new XdsGate({ clock, logger });

  /** Reads the configured clusters; true when the set changed. */
  const readClusters = (): boolean => {
    const next = [...new Set(options.clusters())].sort();
    if (next.length === clusters.length && next.every((c, i) => c === clusters[i])) return false;
    clusters = next;
    if (aggregator.setKnownServices(clusters)) view.notifyChanged();
    return true;
  };
  readClusters();

  const instruct = (stream: StreamState): void => {
    if (stream.closed) return;
    const key = `${intervalMs}|${clusters.join(',')}`;
    if (stream.instructedKey === key) return;
    stream.instructedKey = key;
    stream.call.write(instructions(intervalMs));
  };

  const instructions = (everyMs: number): LoadStatsResponse => ({
    clusters,
    send_all_clusters: false,
    load_reporting_interval: durationFromMs(everyMs),
    // Per-endpoint counts tell which in-house hosts Envoy really sends to (capacity follows health).
    report_endpoint_granularity: true,
  });

  const finish = (stream: StreamState): void => {
    if (stream.closed) return;
    stream.closed = true;
    streams.delete(stream);
    gate.release(stream.ticket);
    if (stream.nodeId !== undefined) {
      aggregator.streamClosed(stream.nodeId, stream.id, clock.nowMs());
      view.notifyChanged();
      logger.debug({ nodeId: stream.nodeId, streamId: stream.id }, 'LRS stream closed');
    }
  };

  const onRequest = (stream: StreamState, request: LoadStatsRequest__Output): void => {
    // Who may report, how often, how much: refused with the status naming the rule (xds-gate.ts).
    const undecodable = refusalOf(request);
    const refusal = undecodable ? gate.refused(stream.ticket, undecodable) : gate.screen(stream.ticket, request);
    if (refusal) {
      aggregator.noteRejected('refused-stream');
      stream.call.emit('error', { code: refusal.code, details: refusal.details });
      finish(stream);
      return;
    }
    if (stream.nodeId === undefined) {
      // Only the first request is guaranteed to carry the node; without it reports cannot be deduplicated.
      const nodeId = request.node?.id;
      if (!nodeId) {
        aggregator.noteRejected('missing-node');
        const details = 'first LoadStatsRequest must carry node.id';
        gate.refused(stream.ticket, { code: grpc.status.INVALID_ARGUMENT, rule: 'lrs protocol', details });
        stream.call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details });
        finish(stream);
        return;
      }
      stream.nodeId = nodeId;
      aggregator.streamOpened(nodeId, stream.id);
      view.notifyChanged();
      logger.debug({ nodeId, streamId: stream.id }, 'LRS stream opened');
      instruct(stream);
    }
    if (stream.followingUp) {
      // The report asked for came (empty or not): back to the usual interval (Envoy restarts its timer on a reply).
      stream.followingUp = false;
      instruct(stream);
    }
    if (request.cluster_stats.length === 0) return;
    const result = aggregator.ingest(stream.nodeId, stream.id, request.cluster_stats, clock.nowMs());
    if (result.rejected.length > 0) {
      logger.debug({ nodeId: stream.nodeId, rejected: result.rejected }, 'LRS report partly ignored');
    }
    if (result.accepted > 0) view.notifyChanged();
  };

  const StreamLoadStats = (call: LrsCall): void => {
    const ticket = gate.admit('lrs', call);
    if (!(ticket instanceof StreamTicket)) {
      call.emit('error', { code: ticket.code, details: ticket.details });
      return;
    }
    const stream: StreamState = { id: nextStreamId++, call, ticket, followingUp: false, closed: false };
    streams.add(stream);
    call.on('data', (request: LoadStatsRequest__Output) => {
      try {
        onRequest(stream, request);
      } catch (err) {
        // Whatever a report contains, the server keeps serving.
        logger.error({ err, streamId: stream.id }, 'LRS request handling failed');
      }
    });
    call.on('end', () => {
      finish(stream);
      call.end();
    });
    call.on('cancelled', () => finish(stream));
    call.on('error', () => finish(stream));
    call.on('close', () => finish(stream));
  };

  const refresh = (): void => {
    readClusters();
    for (const stream of streams) if (stream.nodeId !== undefined) instruct(stream);
  };

  // Sweeping once per interval bounds how late an expiry is noticed to one interval.
  const sweep = (): void => {
    if (aggregator.expire(clock.nowMs())) view.notifyChanged();
    if (readClusters()) refresh();
  };
  let cancelSweep: Cancel = every(scheduler, intervalMs, sweep);

  return {
    handlers: { StreamLoadStats },
    view,
    refresh,
    setIntervalMs(ms: number): void {
      intervalMs = validInterval(ms);
      aggregator.setExpiry(expiryFor(intervalMs));
      cancelSweep();
      cancelSweep = every(scheduler, intervalMs, sweep);
      refresh();
    },
    followUp(afterMs: number, groupEnvoys?: number): number {
      const ms = validInterval(afterMs);
      const now = clock.nowMs();
      const minWindowMs = options.limits?.minWindowMs ?? 0;
      let asked = 0;
      let reporting = 0;
      for (const stream of streams) if (!stream.closed && stream.nodeId !== undefined) reporting++;
      if (Math.max(reporting, groupEnvoys ?? 0) > MAX_FOLLOW_UP_ENVOYS) return 0;
      for (const stream of streams) {
        if (stream.closed || stream.nodeId === undefined) continue;
        const ask = {
          afterMs: ms,
          intervalMs,
          minWindowMs,
          pending: stream.followingUp,
          lastAskedAtMs: stream.lastFollowUpAtMs,
          nowMs: now,
        };
        if (!mayAskEarlyReport(ask)) continue;
        stream.followingUp = true;
        stream.lastFollowUpAtMs = now;
        // Forget what it was told, so the report that answers restores the usual interval.
        stream.instructedKey = undefined;
        stream.call.write(instructions(ms));
        asked++;
      }
      if (asked > 0) logger.debug({ afterMs: ms, envoys: asked }, 'asked for an early load report');
      return asked;
    },
    connectedNodes: () => [...new Set([...streams].flatMap((s) => (s.nodeId === undefined ? [] : [s.nodeId])))].sort(),
    close(): void {
      cancelSweep();
      for (const stream of [...streams]) {
        finish(stream);
        stream.call.end();
      }
    },
  };
}

/** Registers the LRS service on a gRPC server (protos are loaded once per process); requests over maxMessageBytes are refused by name. */
export function addLrsService(
  server: grpc.Server,
  lrs: Pick<LrsService, 'handlers'>,
  protos: SpillwayProtos,
  bound: { maxMessageBytes: number; limitPath: string } = {
    maxMessageBytes: DEFAULT_XDS_LIMITS.maxMessageBytes,
    limitPath: LIMIT_PATHS.xds.maxMessageBytes,
  },
): void {
  const service = protos.envoy.service.load_stats.v3.LoadReportingService.service;
  server.addService(withBoundedRequests(service, bound.maxMessageBytes, bound.limitPath), lrs.handlers);
}

function validInterval(ms: number): number {
  if (!Number.isFinite(ms) || ms < 1) throw new RangeError(`LRS interval must be at least 1 ms, got ${ms}`);
  return Math.round(ms);
}
