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
}

export interface InHouseEndpoint {
  address: string;
  port: number;
  /** Max concurrent requests this endpoint serves well. */
  capacity: number;
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
}

export interface ServiceConfig {
  name: string;
  listener: HostPort;
  route: RouteConfig;
  inHouse: InHouseEndpoint[];
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
  services: ServiceConfig[];
}

/** The system CA bundle Envoy uses for Modal when the config names none (Debian/Ubuntu path). */
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
