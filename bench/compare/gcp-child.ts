// go-control-plane as a benchmark child: the small server in main.go (SnapshotCache, one snapshot
// shared by every node), built from the Go module proxy on first use. It serves the resources
// Spillway's own builders produce for the fan-out topology: the benchmark builds them here and
// hands the encoded bytes over, so both servers serve identical resources at identical versions.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fanoutConfig } from '../fanout/fanout-config.js';
import { SpillwayChild, type BenchServer } from '../fanout/child-handle.js';
import type { ChildReply } from '../fanout/child-protocol.js';
import { Publisher } from '../../src/control/publisher.js';
import { silentLogger } from '../../src/core/logger.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { SnapshotCache } from '../../src/xds/snapshot-cache.js';
import type { Snapshot } from '../../src/xds/snapshot.js';
import { ADS_ORDER, type TypeUrl } from '../../src/xds/type-urls.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const binary = fileURLToPath(new URL('../../.tmp/compare/gcp-server', import.meta.url));

export const GO_CONTROL_PLANE_VERSION = 'v0.14.0';

/** `go version`, or undefined where Go is not installed. */
export function goVersion(): string | undefined {
  try {
    return execFileSync('go', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** Builds main.go (modules from the Go module proxy, pinned by go.mod/go.sum) into .tmp/compare. */
export function buildGoControlPlane(): string {
  execFileSync('go', ['build', '-o', binary, '.'], { cwd: here, stdio: 'inherit' });
  return binary;
}

/** The go-control-plane child, driven through the same calls as Spillway's. */
export class GoControlPlaneChild implements BenchServer {
  readonly name = 'go-control-plane';

  private constructor(
    private readonly child: SpillwayChild,
    private readonly publisher: Publisher,
    private readonly cache: SnapshotCache,
  ) {}

  get xdsPort(): number {
    return this.child.xdsPort;
  }

  get pid(): number {
    return this.child.pid;
  }

  static async start(opts: { services: number }): Promise<GoControlPlaneChild> {
    const cache = new SnapshotCache();
    const publisher = new Publisher(cache, loadProtos().protos, fanoutConfig(opts.services).services, silentLogger);
    const first = publisher.publish();
    if (!first.ok) throw new Error(`fan-out topology does not validate: ${first.errors.join('; ')}`);
    const child = await SpillwayChild.spawn({ file: binary, args: [], cwd: here }, 'go-control-plane');
    const server = new GoControlPlaneChild(child, publisher, cache);
    const reply = await server.send(ADS_ORDER);
    if (!reply.ok) throw new Error(`go-control-plane refused the initial snapshot: ${reply.error ?? ''}`);
    return server;
  }

  request(cmd: Parameters<SpillwayChild['request']>[0]): Promise<ChildReply> {
    return this.child.request(cmd);
  }

  /** Builds the new CLA with Spillway's builders (not timed), then hands it over: the child stamps its publish. */
  async setShare(service: string, share: number): Promise<ChildReply> {
    const r = this.publisher.setPlan(service, planForShare(share));
    if (!r.ok) throw new Error(`share ${share} for ${service} does not validate: ${r.errors.join('; ')}`);
    return this.send([...r.changed]);
  }

  stop(): Promise<void> {
    return this.child.stop();
  }

  private send(types: readonly TypeUrl[]): Promise<ChildReply> {
    const snap: Snapshot | undefined = this.cache.current();
    if (!snap) throw new Error('nothing published');
    const payload: Record<string, { version: string; resources: string[] }> = {};
    for (const t of types) {
      const ts = snap.types[t];
      payload[t] = { version: ts.version, resources: [...ts.resources.values()].map((r) => r.value.toString('base64')) };
    }
    return this.child.request({ cmd: 'set', types: payload });
  }
}
