import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { type ConfigDump, runningEndpoints, runningLocalities, type RunningEndpoint, type RunningLocality } from './config-dump.js';
import { findEnvoyBin } from './envoy-bin.js';
import { waitFor } from '../wait-for.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface EnvoyOptions {
  xdsPort: number;
  nodeId: string;
  apiType?: 'GRPC' | 'DELTA_GRPC';
  /** Edits the parsed bootstrap before Envoy starts (e.g. to make Envoy reject something). */
  patch?: (bootstrap: Record<string, unknown>) => void;
  /**
   * Reach Spillway over mutual TLS, from the shipped envoy/envoy-mtls.yaml: this Envoy's client
   * certificate and key, the CA Spillway's certificate is verified against, and the SNI / DNS SAN
   * expected of it (default spillway.internal).
   */
  tls?: { certPath: string; keyPath: string; caPath: string; serverName?: string };
}

export interface EnvoyHandle {
  adminUrl: string;
  nodeId: string;
  process: ChildProcess;
  logs(): string;
  configDump(query?: string): Promise<ConfigDump>;
  /** The localities Envoy runs now for a cluster, by zone (a zone is absent when its locality is). */
  localities(cluster: string): Promise<Map<string, RunningLocality>>;
  /** Every endpoint Envoy runs now for a cluster ("in-house"/"modal" zone, "address:port", weight). */
  endpoints(cluster: string): Promise<RunningEndpoint[]>;
  clustersJson(): Promise<ClustersJson>;
  stats(filter: string): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

// Minimal shape of the admin JSON the tools read.
export interface ClustersJson {
  cluster_statuses?: Array<{
    name: string;
    host_statuses?: Array<{
      address: { socket_address: { address: string; port_value: number } };
      hostname?: string;
      locality?: { region?: string; zone?: string };
      weight?: number;
      health_status?: Record<string, unknown>;
    }>;
  }>;
}

/**
 * Starts a real Envoy from the shipped bootstrap (envoy/envoy.yaml), pointed at the given xDS port,
 * with its admin on a free localhost port.
 */
export async function startEnvoy(opts: EnvoyOptions): Promise<EnvoyHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-envoy-'));
  const file = opts.tls ? 'envoy/envoy-mtls.yaml' : 'envoy/envoy.yaml';
  const bootstrap = parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as Record<string, any>;
  bootstrap['node'] = { id: opts.nodeId, cluster: 'spillway-test' };
  bootstrap['admin'].address.socket_address.port_value = 0;
  bootstrap['dynamic_resources'].ads_config.api_type = opts.apiType ?? 'GRPC';
  const xds = bootstrap['static_resources'].clusters.find((c: { name: string }) => c.name === 'spillway_xds');
  xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = opts.xdsPort;
  if (opts.tls) {
    const tls = xds.transport_socket.typed_config;
    const name = opts.tls.serverName ?? 'spillway.internal';
    tls.sni = name;
    tls.common_tls_context.tls_certificates = [
      { certificate_chain: { filename: opts.tls.certPath }, private_key: { filename: opts.tls.keyPath } },
    ];
    tls.common_tls_context.validation_context.trusted_ca = { filename: opts.tls.caPath };
    tls.common_tls_context.validation_context.match_typed_subject_alt_names = [{ san_type: 'DNS', matcher: { exact: name } }];
  }
  opts.patch?.(bootstrap);
  const cfgPath = join(dir, 'envoy.yaml');
  const adminPath = join(dir, 'admin-address');
  writeFileSync(cfgPath, stringify(bootstrap));
  let output = '';
  const child = spawn(
    findEnvoyBin(),
    ['-c', cfgPath, '--disable-hot-restart', '--concurrency', '1', '-l', 'warning', '--admin-address-path', adminPath],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const append = (b: Buffer): void => {
    output = (output + b.toString()).slice(-200_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  await waitFor(
    () => {
      if (exited) throw new Error(`envoy exited during start:\n${output}`);
      return existsSync(adminPath) && readFileSync(adminPath, 'utf8').trim().length > 0;
    },
    15_000,
    'envoy admin address',
  );
  const adminUrl = `http://${readFileSync(adminPath, 'utf8').trim()}`;
  const get = async (path: string): Promise<string> => {
    const res = await fetch(`${adminUrl}${path}`);
    return res.text();
  };
  return {
    adminUrl,
    nodeId: opts.nodeId,
    process: child,
    logs: () => output,
    configDump: async (query = '') => JSON.parse(await get(`/config_dump${query}`)) as ConfigDump,
    localities: async (cluster) => runningLocalities(JSON.parse(await get('/config_dump?include_eds')) as ConfigDump, cluster),
    endpoints: async (cluster) => runningEndpoints(JSON.parse(await get('/config_dump?include_eds')) as ConfigDump, cluster),
    clustersJson: async () => JSON.parse(await get('/clusters?format=json')) as ClustersJson,
    stats: async (filter) => {
      const text = await get(`/stats?filter=${encodeURIComponent(filter)}`);
      const out: Record<string, number> = {};
      for (const line of text.split('\n')) {
        const m = /^([^:]+): (\d+)$/.exec(line.trim());
        if (m && m[1] && m[2]) out[m[1]] = Number(m[2]);
      }
      return out;
    },
    stop: async () => {
      if (!exited) {
        child.kill('SIGTERM');
        await waitFor(() => exited, 10_000, 'envoy exit').catch(() => child.kill('SIGKILL'));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
