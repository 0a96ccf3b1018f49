// The validated, fully-defaulted configuration Spillway runs on. The YAML schema (snake_case) is
// documented in README.md; parse-config.ts maps it here and names every problem by field path.

import type { HostPort } from '../core/host-port.js';
import type { CapacityPolicy } from './capacity-policy.js';
import type { AdminLimits, LrsLimits, NodeIdentityRule, TlsFilesConfig, XdsLimits } from './security-config.js';

export interface RetryConfig {
  /** Envoy retry_on conditions, e.g. ['connect-failure', 'refused-stream']. Empty list: no retries. */
  retryOn: string[];
  numRetries: number;
  /** 0 = no per-try timeout. */
  perTryTimeoutMs: number;
}

export interface RouteConfig {
  /** Whole-request timeout; 0 disables it so long requests (Modal answers after up to 150 s) are not cut. */
  timeoutMs: number;
  /** Stream idle timeout: a request with no bytes moving for this long is reset. */
  idleTimeoutMs: number;
  websocket: boolean;
  retry: RetryConfig;
  sticky: StickyConfig;
}

/** How Envoy keeps a session where it started (the stateful session filter); `off` disables it. */
export const StickyMode = {
  /** Envoy names the chosen host in a response header; the client sends it back. */
  Header: 'header',
  /** Envoy sets a cookie naming the chosen host; cookie-keeping clients send it back by themselves. */
  Cookie: 'cookie',
  Off: 'off',
} as const;
export type StickyMode = (typeof StickyMode)[keyof typeof StickyMode];

/**
 * Sticky sessions across tiers. Envoy pins a session to the host (in-house, or the Modal endpoint)
 * that served its first request; new sessions follow the live locality weights. The client's own
 * Modal-Session-Id is forwarded untouched (like every header), so Modal keeps it on one replica.
 */
export interface StickyConfig {
  mode: StickyMode;
  /** Header mode: the header Envoy writes the pin into and reads it back from. */
  header: string;
  /** Cookie mode: the cookie's name, path and lifetime (0 = a session cookie). */
  cookie: { name: string; path: string; ttlS: number };
}

export interface InHouseEndpoint {
  address: string;
  port: number;
  /** Max concurrent requests this endpoint serves well. */
  capacity: number;
  /** Max requests per second this endpoint serves well (Traffic Director's maxRatePerEndpoint); optional. */
  maxRps?: number;
}

/** A DNS name whose A/AAAA records are in-house endpoints, re-resolved on their TTL. */
export interface DnsSourceConfig {
  kind: 'dns';
  name: string;
  port: number;
  /** Which records to use: A and AAAA (any), or one family. */
  family: 'any' | 'ipv4' | 'ipv6';
  /** Capacity of each address; undefined = the service's default. */
  capacity?: number;
}

/** A DNS SRV name: its targets' addresses, with the ports and weights the records carry. */
export interface SrvSourceConfig {
  kind: 'srv';
  name: string;
  /** Capacity of each target; undefined = the SRV weight (or the service's default where the weight is 0). */
  capacity?: number;
}

/** A file of target groups (Prometheus file discovery style) that deploy tooling rewrites. */
export interface FileSourceConfig {
  kind: 'file';
  path: string;
  /** Capacity of targets whose group names none; undefined = the service's default. */
  capacity?: number;
}

export type EndpointSourceConfig = DnsSourceConfig | SrvSourceConfig | FileSourceConfig;

/** An active HTTP check of in-house hosts (never of Modal): Envoy's `health_check`, or Spillway's own `probe`. */
export interface HealthCheckConfig {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/** Envoy's passive outlier detection (it applies to every host of the cluster, Modal's included). */
export interface OutlierDetectionConfig {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionPercent: number;
}

/** How Envoy judges and ramps in-house hosts. */
export interface InHouseHealthConfig {
  healthCheck?: HealthCheckConfig;
  /**
   * Spillway's own HTTP check of the in-house hosts: it feeds capacity before Envoy's next load report
   * shows a host lost or back. Envoy's routing is untouched (that is `healthCheck`'s job).
   */
  probe?: HealthCheckConfig;
  outlierDetection?: OutlierDetectionConfig;
  /** A host that joins or comes back healthy is ramped over this window; 0 = off. */
  slowStartMs: number;
}

export interface ModalEndpointConfig {
  /** The Modal web endpoint, e.g. https://workspace--app-fn.modal.run */
  url: string;
  /** Host part of url: SNI, certificate name and Host header. */
  hostname: string;
  /** Port Envoy connects to (443 unless the URL says otherwise). */
  port: number;
  app: string;
  function: string;
  /** Modal environment for lookups; undefined = the profile's default. */
  environment?: string;
  maxInputs: number;
  maxContainers: number;
  /** CA bundle Envoy verifies Modal's certificate against. */
  caBundle: string;
  /**
   * Connect to this IP instead of resolving hostname (like curl --resolve). For private links,
   * tests and demos; SNI and Host still use hostname.
   */
  connectAddress?: string;
  /** Static Modal share (0–1) used when no controller drives the service. */
  staticShare: number;
  /** The workspace's web request rate limit: a ceiling on the Modal share (Modal answers 429 past it). */
  rateLimit: ModalRateLimit;
  /** A 429 from Modal is retried once on an in-house host (Envoy retry policy) instead of reaching the client. */
  retry429InHouse: boolean;
  /** Dollars per container-second: turns Modal's container count into a live cost. */
  pricePerContainerSecond: number;
  /** Offer HTTP/2 to Modal by ALPN (h2, then http/1.1); false = HTTP/1.1 only. */
  http2: boolean;
}

export interface ModalRateLimit {
  /** Sustained requests per second. */
  rps: number;
  /** Burst allowance as a multiple of rps (Modal: 5×, i.e. 1,000 requests at once for 200 rps). */
  burst: number;
}

/** Modal's rate limit for a new workspace: 200 web requests per second, 5× burst (guide/webhooks). */
export const MODAL_DEFAULT_RATE_LIMIT: ModalRateLimit = { rps: 200, burst: 5 };

/** Modal's per-second CPU container price the project was given (seed 004: $0.000059 per second per container). */
export const MODAL_DEFAULT_PRICE_PER_CONTAINER_SECOND = 0.000059;

export interface ServiceConfig {
  name: string;
  listener: HostPort;
  route: RouteConfig;
  /** The static in-house endpoints (`in_house.endpoints`); discovered ones come from inHouseSources. */
  inHouse: InHouseEndpoint[];
  /**
   * Host header in-house endpoints receive (their EDS hostname, applied by auto_host_rewrite).
   * Default: each endpoint's "address:port". It is always set: a retry from Modal to an in-house
   * host would otherwise carry Modal's hostname (Envoy rewrites the request in place). The client's
   * own Host reaches in-house hosts in X-Forwarded-Host.
   */
  inHouseHost?: string;
  /** Where more in-house endpoints are discovered (DNS, SRV, files); merged with the static ones. */
  inHouseSources: EndpointSourceConfig[];
  /** Capacity of a discovered endpoint whose source names none. */
  inHouseDefaultCapacity?: number;
  inHouseHealth: InHouseHealthConfig;
  /** Scales in-house capacity for planned drains (Traffic Director's capacityScaler): 0–1, default 1. */
  capacityScaler: number;
  modal?: ModalEndpointConfig;
  /**
   * How the Modal share is decided. Undefined: static (`modal.share`, or set by an operator
   * override). Set: the capacity controller drives it live from LRS load and Modal stats.
   */
  capacity?: CapacityPolicy;
}

export interface SpillwayConfig {
  xds: {
    listen: HostPort;
    /** Streams older than this are closed so Envoys spread over replicas; 0 disables. */
    maxConnectionAgeMs: number;
    /** TLS for the xDS/LRS port (mutual with a client CA); undefined = plaintext. */
    tls?: TlsFilesConfig;
    /** How a stream's node id is bound to its client certificate; undefined = not bound. */
    nodeIdentity?: NodeIdentityRule;
    limits: XdsLimits;
  };
  lrs: {
    intervalMs: number;
    /** Node id patterns (glob `*`) that may report load. */
    reporters: string[];
    limits: LrsLimits;
  };
  admin: {
    listen: HostPort;
    /** The bearer token mutating calls need, and the name it is known by in the audit log (its env var). */
    token?: string;
    tokenName?: string;
    /** The bearer token GetState/WatchWeights need (the admin token also reads), and its name. */
    readToken?: string;
    readTokenName?: string;
    tls?: TlsFilesConfig;
    limits: AdminLimits;
  };
  /** Prometheus /metrics and the status page: plain HTTP, or HTTPS with a tls block (files followed as they rotate). */
  metrics: { listen: HostPort; tls?: TlsFilesConfig };
  controller: { tickMs: number };
  modalApi: {
    pollIntervalMs: number;
    timeoutMs: number;
    /** How often Spillway reads Modal's autoscaler back and re-applies its intent (a deploy resets it). */
    reconcileIntervalMs: number;
    /** At most one autoscaler update per service per this interval (Modal rate-limits them). */
    autoscalerMinIntervalMs: number;
  };
  discovery: DiscoveryConfig;
  /**
   * Where Spillway keeps its operating state (plans, cordons, overrides, the controller's memory) so a
   * restart resumes from it. Undefined: nothing is kept, and every start begins from the config.
   */
  state?: { dir: string };
  /**
   * Replicas that act as one control plane on etcd (README "Replicas"). Undefined: a single
   * Spillway process, on its own.
   */
  ha?: HaConfig;
  services: ServiceConfig[];
}

/** How endpoint sources are read. */
export interface DiscoveryConfig {
  /** DNS servers ("ip:port"); empty = the system's resolvers. */
  dnsServers: HostPort[];
  dnsTimeoutMs: number;
  /** TTLs are clamped into [minTtlMs, maxTtlMs] before re-resolving. */
  minTtlMs: number;
  maxTtlMs: number;
  /** How long bad discovery data (failure, empty answer, zero endpoints) leaves the last good set serving. */
  graceMs: number;
  /** Watched files are also re-read this often (a missed file event cannot leave them stale). */
  filePollMs: number;
}

export interface HaConfig {
  etcd: EtcdConfig;
  /** Every key of this group lives under it, so several Spillway groups can share one etcd. No trailing slash. */
  prefix: string;
  /** The replica's etcd lease: a replica that stops renewing it is gone (and a leader deposed) after this long. */
  leaseTtlS: number;
  /** This replica's name in the group; undefined: hostname-pid. */
  replicaId?: string;
}

export interface EtcdConfig {
  /** Client URLs, all http:// or all https://. */
  endpoints: string[];
  /** PEM files for TLS to etcd: the CA to verify it, and a client certificate and key when etcd asks for one. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** etcd's own authentication; the password comes from the environment (password_env), never the file. */
  auth?: { username: string; password: string };
}

/** The system CA bundle Envoy uses for Modal when the config names none (Debian/Ubuntu path). */
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
