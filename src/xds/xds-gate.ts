// What one client may do on the xDS/LRS port, enforced in front of the protocol sessions so they stay
// pure: streams per connection and per node, the node's identity (xds.node_identity) and right to
// report load (lrs.reporters), request rate, name counts and string lengths, and the bytes a stream
// may leave unread. Every refusal names the limit or rule (its config path), is counted (an event)
// and logged once per peer and rule, so a misconfigured fleet does not flood the log.
import * as grpc from '@grpc/grpc-js';
import {
  DEFAULT_XDS_LIMITS,
  LIMIT_PATHS,
  NODE_IDENTITY_PATH,
  REPORTERS_PATH,
  type NodeIdentityRule,
  type XdsLimits,
} from '../config/security-config.js';
import type { Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Refusal } from './bounded-requests.js';
import { checkNodeIdentity, NodePatterns } from './node-identity.js';
import { describePeer, peerIdentityOf, type PeerIdentity } from './peer-identity.js';
import { Listeners } from '../core/listeners.js';
import { LogOnce } from '../core/log-once.js';

export type GateService = 'ads' | 'lrs';

/** A refused client, as metrics count it: the limit or rule it broke (a config path) and the status it got. */
export interface RefusalEvent {
  service: GateService;
  rule: string;
  code: string;
  nodeId: string;
  atMs: number;
}

/** The gRPC call surface the gate reads: where the call comes from and the verified peer certificate. */
export type PeerCall = Pick<grpc.ServerDuplexStream<unknown, unknown>, 'getPeer' | 'getAuthContext'>;

/** The fields of a DiscoveryRequest, DeltaDiscoveryRequest or LoadStatsRequest the gate reads. */
export interface ScreenedRequest {
  node?: { id?: string } | null;
  type_url?: string;
  version_info?: string;
  response_nonce?: string;
  resource_names?: string[];
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  error_detail?: { message?: string } | null;
}

/** One admitted stream: where it comes from, who it is, what it may still do. */
export class StreamTicket {
  /** The node this stream speaks for, once bound. */
  nodeId: string | undefined;
  /** The node id the stream's first request named (bound or not): what refusals report. */
  claimedNodeId: string | undefined;
  /** Bytes handed to the transport and not yet taken by the client. */
  pendingBytes = 0;
  tokens: number;
  refilledAtMs: number;
  released = false;
  /** Delta: the names the stream's session holds per type (set by the ADS server; the limit counts from them). */
  subscribedNames: ((typeUrl: string) => ReadonlySet<string> | undefined) | undefined;

  constructor(
    readonly service: GateService,
    /** The TCP connection (remote address and port). */
    readonly connection: string,
    readonly identity: PeerIdentity | undefined,
    burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.refilledAtMs = nowMs;
  }

  /** For logs: the verified identity, else the address. */
  get peer(): string {
    return describePeer(this.identity) ?? this.connection;
  }
}

export interface XdsGateOptions {
  limits?: XdsLimits;
  nodeIdentity?: NodeIdentityRule;
  /** Node id patterns that may open an LRS stream; default any. */
  reporters?: readonly string[];
  clock: Clock;
  logger?: Logger;
}

/** No type URL Spillway serves (or Envoy knows) comes near this; a longer one is garbage, refused before it is echoed. */
const MAX_TYPE_URL = 512;

export class XdsGate {
  readonly limits: XdsLimits;
  private readonly rule: NodeIdentityRule | undefined;
  private readonly reporters: NodePatterns;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly refusals = new Listeners<[RefusalEvent]>();
  private readonly perConnection = new Map<string, number>();
  private readonly perNode = new Map<string, number>();
  private readonly logged = new LogOnce();

  constructor(opts: XdsGateOptions) {
    this.limits = opts.limits ?? DEFAULT_XDS_LIMITS;
    this.rule = opts.nodeIdentity;
    this.reporters = new NodePatterns(opts.reporters ?? ['*']);
    this.clock = opts.clock;
    this.log = (opts.logger ?? silentLogger).child({ component: 'xds-gate' });
  }

  /** A new stream: admitted (its ticket) or refused because its connection has too many. */
  /** Every refusal (metrics count them). Returns unsubscribe. */
  onRefused(listener: (e: RefusalEvent) => void): () => void {
    return this.refusals.add(listener);
  }

  admit(service: GateService, call: PeerCall): StreamTicket | Refusal {
    const connection = call.getPeer();
    const ticket = new StreamTicket(service, connection, peerIdentityOf(call), this.limits.requestBurst, this.clock.nowMs());
    const open = this.perConnection.get(connection) ?? 0;
    if (open >= this.limits.maxStreamsPerConnection) {
      return this.refused(ticket, {
        code: grpc.status.RESOURCE_EXHAUSTED,
        rule: LIMIT_PATHS.xds.maxStreamsPerConnection,
        details: `this connection already has ${open} streams; ${LIMIT_PATHS.xds.maxStreamsPerConnection} = ${this.limits.maxStreamsPerConnection}`,
      });
    }
    this.perConnection.set(connection, open + 1);
    return ticket;
  }

  /**
   * Checks one request before the protocol sees it: rate, sizes, and on the first request that
   * names a node, the node's binding. Cuts an oversize NACK detail in place (it is logged and kept).
   */
  screen(ticket: StreamTicket, req: ScreenedRequest): Refusal | undefined {
    const refusal = this.rate(ticket) ?? this.sizes(ticket, req) ?? this.bind(ticket, req.node?.id);
    if (refusal) return this.refused(ticket, refusal);
    const detail = req.error_detail;
    const max = this.limits.maxErrorDetailBytes;
    if (detail?.message && detail.message.length > max) {
      detail.message = `${detail.message.slice(0, max)}… (cut at ${LIMIT_PATHS.xds.maxErrorDetailBytes} = ${max})`;
    }
    return undefined;
  }

  /**
   * The stream's call with writes counted against xds.limits.max_send_buffer_bytes: a client that
   * stops reading is refused (onOverflow) before it makes Spillway hold more for it.
   */
  meter<Resp>(
    ticket: StreamTicket,
    call: { write(msg: Resp, cb: () => void): boolean; end(): void; emit(event: 'error', err: { code: number; details: string }): boolean },
    sizeOf: (msg: Resp) => number,
    onOverflow: (r: Refusal) => void,
  ): { write(msg: Resp): boolean; end(): void; emit(event: 'error', err: { code: number; details: string }): boolean } {
    const max = this.limits.maxSendBufferBytes;
    return {
      write: (msg) => {
        const size = sizeOf(msg);
        if (ticket.pendingBytes + size > max) {
          onOverflow(
            this.refused(ticket, {
              code: grpc.status.RESOURCE_EXHAUSTED,
              rule: LIMIT_PATHS.xds.maxSendBufferBytes,
              details: `the client left ${ticket.pendingBytes} bytes unread and the next response has ${size}; ${LIMIT_PATHS.xds.maxSendBufferBytes} = ${max}`,
            }),
          );
          return false;
        }
        ticket.pendingBytes += size;
        return call.write(msg, () => {
          ticket.pendingBytes -= size;
        });
      },
      end: () => call.end(),
      emit: (event, err) => call.emit(event, err),
    };
  }

  /** The stream ended: its connection and node slots are free again. Idempotent. */
  release(ticket: StreamTicket | undefined): void {
    if (!ticket || ticket.released) return;
    ticket.released = true;
    decrement(this.perConnection, ticket.connection);
    if (ticket.nodeId !== undefined) decrement(this.perNode, nodeKey(ticket.service, ticket.nodeId));
    ticket.subscribedNames = undefined;
  }

  /** Open streams per connection and node (for tests and the fuzz report). */
  counts(): { connections: number; nodes: number } {
    return { connections: this.perConnection.size, nodes: this.perNode.size };
  }

  private rate(ticket: StreamTicket): Refusal | undefined {
    const now = this.clock.nowMs();
    const { maxRequestsPerSecond: perSecond, requestBurst: burst } = this.limits;
    ticket.tokens = Math.min(burst, ticket.tokens + ((now - ticket.refilledAtMs) * perSecond) / 1000);
    ticket.refilledAtMs = now;
    if (ticket.tokens >= 1) {
      ticket.tokens -= 1;
      return undefined;
    }
    return {
      code: grpc.status.RESOURCE_EXHAUSTED,
      rule: LIMIT_PATHS.xds.maxRequestsPerSecond,
      details: `requests arrive faster than ${LIMIT_PATHS.xds.maxRequestsPerSecond} = ${perSecond} (${LIMIT_PATHS.xds.requestBurst} = ${burst})`,
    };
  }

  private sizes(ticket: StreamTicket, req: ScreenedRequest): Refusal | undefined {
    const L = this.limits;
    const P = LIMIT_PATHS.xds;
    const tooLong = (field: string, value: string | undefined, max: number, path: string): Refusal | undefined =>
      value !== undefined && value.length > max
        ? {
            code: grpc.status.INVALID_ARGUMENT,
            rule: path,
            details: `${field} has ${value.length} characters; ${path === field ? 'at most' : `${path} =`} ${max}`,
          }
        : undefined;
    const tooMany = (field: string, n: number): Refusal | undefined =>
      n > L.maxNamesPerSubscription
        ? {
            code: grpc.status.RESOURCE_EXHAUSTED,
            rule: P.maxNamesPerSubscription,
            details: `${field} has ${n} names; ${P.maxNamesPerSubscription} = ${L.maxNamesPerSubscription}`,
          }
        : undefined;
    const namesTooLong = (field: string, names: readonly string[] | undefined): Refusal | undefined => {
      const long = names?.find((n) => n.length > L.maxNameBytes);
      return long === undefined ? undefined : tooLong(`a name in ${field}`, long, L.maxNameBytes, P.maxNameBytes);
    };
    const initial = req.initial_resource_versions ? Object.entries(req.initial_resource_versions) : [];
    const refusal =
      tooLong('node.id', req.node?.id ?? undefined, L.maxNodeIdBytes, P.maxNodeIdBytes) ??
      tooLong('response_nonce', req.response_nonce, L.maxNonceBytes, P.maxNonceBytes) ??
      tooLong('version_info', req.version_info, L.maxVersionBytes, P.maxVersionBytes) ??
      tooLong('type_url', req.type_url, MAX_TYPE_URL, 'type_url') ??
      tooMany('resource_names', req.resource_names?.length ?? 0) ??
      tooMany('resource_names_subscribe', req.resource_names_subscribe?.length ?? 0) ??
      tooMany('resource_names_unsubscribe', req.resource_names_unsubscribe?.length ?? 0) ??
      tooMany('initial_resource_versions', initial.length) ??
      namesTooLong('resource_names', req.resource_names) ??
      namesTooLong('resource_names_subscribe', req.resource_names_subscribe) ??
      namesTooLong('resource_names_unsubscribe', req.resource_names_unsubscribe) ??
      namesTooLong(
        'initial_resource_versions',
        initial.map(([n]) => n),
      ) ??
      tooLong(
        'a version in initial_resource_versions',
        initial.find(([, v]) => v.length > L.maxVersionBytes)?.[1],
        L.maxVersionBytes,
        P.maxVersionBytes,
      );
    return refusal ?? this.deltaSubscription(ticket, req);
  }

  /** Delta subscriptions grow request by request: the total per type is what is bounded. */
  private deltaSubscription(ticket: StreamTicket, req: ScreenedRequest): Refusal | undefined {
    const sub = req.resource_names_subscribe;
    const unsub = req.resource_names_unsubscribe;
    if (!req.type_url || ((sub?.length ?? 0) === 0 && (unsub?.length ?? 0) === 0)) return undefined;
    // How many names the subscription would hold after this request, applied as the session applies
    // it (subscribe, then unsubscribe), counted from the request's names alone: the cost of a
    // one-name change must not grow with the subscription.
    const held = ticket.subscribedNames?.(req.type_url);
    const added = new Set<string>();
    for (const n of sub ?? []) if (n !== '*' && !held?.has(n)) added.add(n);
    const dropped = new Set<string>();
    for (const n of unsub ?? []) if (held?.has(n) || added.has(n)) dropped.add(n);
    const size = (held?.size ?? 0) + added.size - dropped.size;
    if (size <= this.limits.maxNamesPerSubscription) return undefined;
    const P = LIMIT_PATHS.xds;
    return {
      code: grpc.status.RESOURCE_EXHAUSTED,
      rule: P.maxNamesPerSubscription,
      details: `the subscription to ${req.type_url} would hold ${size} names; ${P.maxNamesPerSubscription} = ${this.limits.maxNamesPerSubscription}`,
    };
  }

  /** The first node id a stream names: its identity, its right to report, its node's stream count. */
  private bind(ticket: StreamTicket, nodeId: string | undefined): Refusal | undefined {
    if (ticket.nodeId !== undefined || !nodeId) return undefined;
    ticket.claimedNodeId = nodeId;
    if (this.rule) {
      const verdict = checkNodeIdentity(this.rule, nodeId, ticket.identity);
      if (!verdict.ok) return { code: grpc.status.PERMISSION_DENIED, rule: NODE_IDENTITY_PATH, details: verdict.problem };
    }
    if (ticket.service === 'lrs' && !this.reporters.matches(nodeId)) {
      return {
        code: grpc.status.PERMISSION_DENIED,
        rule: REPORTERS_PATH,
        details: `node "${nodeId}" may not report load: ${REPORTERS_PATH} allows ${this.reporters.patterns.map((p) => `"${p}"`).join(', ')}`,
      };
    }
    const key = nodeKey(ticket.service, nodeId);
    const open = this.perNode.get(key) ?? 0;
    if (open >= this.limits.maxStreamsPerNode) {
      const P = LIMIT_PATHS.xds;
      return {
        code: grpc.status.RESOURCE_EXHAUSTED,
        rule: P.maxStreamsPerNode,
        details: `node "${nodeId}" already has ${open} ${ticket.service.toUpperCase()} streams; ${P.maxStreamsPerNode} = ${this.limits.maxStreamsPerNode}`,
      };
    }
    this.perNode.set(key, open + 1);
    ticket.nodeId = nodeId;
    return undefined;
  }

  /** Counts the refusal (event) and logs it once per peer and rule; returns it for chaining. */
  refused(ticket: StreamTicket, refusal: Refusal): Refusal {
    this.refusals.emit({
      service: ticket.service,
      rule: refusal.rule,
      code: grpc.status[refusal.code] ?? String(refusal.code),
      nodeId: ticket.nodeId ?? ticket.claimedNodeId ?? '',
      atMs: this.clock.nowMs(),
    });
    const host = ticket.connection.replace(/:\d+$/, '');
    const key = `${describePeer(ticket.identity) ?? host}\u0000${refusal.rule}`;
    const fields = {
      service: ticket.service,
      peer: ticket.peer,
      connection: ticket.connection,
      nodeId: ticket.nodeId ?? ticket.claimedNodeId,
      rule: refusal.rule,
      problem: refusal.details,
    };
    if (this.logged.first(key)) this.log.warn(fields, 'client refused; further refusals of this peer under this rule are logged at debug');
    else this.log.debug(fields, 'client refused (again)');
    return refusal;
  }
}

const nodeKey = (service: GateService, nodeId: string): string => `${service}\u0000${nodeId}`;

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
