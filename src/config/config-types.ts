// The validated, fully-defaulted configuration Spillway runs on. The YAML schema (snake_case) is
// documented in README.md; parse-config.ts maps it here and names every problem by field path.

import type { HostPort } from '../core/host-port.js';
import type { CapacityPolicy } from './capacity-policy.js';

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
  inHouse: InHouseEndpoint[];
  /**
   * Host header in-house endpoints receive (their EDS hostname, applied by auto_host_rewrite).
   * Default: each endpoint's "address:port". It is always set: a retry from Modal to an in-house
   * host would otherwise carry Modal's hostname (Envoy rewrites the request in place). The client's
   * own Host reaches in-house hosts in X-Forwarded-Host.
   */
  inHouseHost?: string;
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
  };
  lrs: { intervalMs: number };
  admin: { listen: HostPort; token?: string };
  metrics: { listen: HostPort };
  controller: { tickMs: number };
  modalApi: {
    pollIntervalMs: number;
    timeoutMs: number;
    /** How often Spillway reads Modal's autoscaler back and re-applies its intent (a deploy resets it). */
    reconcileIntervalMs: number;
    /** At most one autoscaler update per service per this interval (Modal rate-limits them). */
    autoscalerMinIntervalMs: number;
  };
  /**
   * Replicas that act as one control plane on etcd (README "Replicas"). Undefined: a single
   * Spillway process, on its own.
   */
  ha?: HaConfig;
  services: ServiceConfig[];
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
