// A/B of the per-push fan-out inside one process, without sockets: N fake ADS streams whose
// write() runs the service's response serializer, plain vs pre-encoded resources. CPU time per
// publish is far less sensitive to a busy machine than end-to-end latency.
//   npx tsx bench/fanout/serialize-ab.ts [streams=1000] [publishes=30]
import { EventEmitter } from 'node:events';
import { startSpillway } from '../../src/app/spillway-app.js';
import { systemClock } from '../../src/core/clock.js';
import { loadProtos } from '../../src/protos/load-protos.js';
import { planForShare } from '../../src/model/traffic-plan.js';
import { AdsServer } from '../../src/xds/ads-server.js';
import { withPreEncodedResponses } from '../../src/xds/response-bodies.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { XdsEvents } from '../../src/xds/xds-events.js';
import { fanoutConfig, serviceName } from './fanout-config.js';
import { median, round } from './stats.js';

const streams = Number(process.argv[2] ?? 1000);
const publishes = Number(process.argv[3] ?? 30);
const services = 10;
const service = loadProtos().protos.envoy.service.discovery.v3.AggregatedDiscoveryService.service;
const wrapped = withPreEncodedResponses(service);
type Serialize = (m: unknown) => Buffer;

class FakeCall extends EventEmitter {
  bytes = 0;
  constructor(private readonly serialize: Serialize) {
    super();
  }
  write(msg: unknown): boolean {
    this.bytes += this.serialize(msg).length;
    return true;
  }
  end(): void {}
}

const app = await startSpillway(fanoutConfig(services));
const names = Array.from({ length: services }, (_, i) => serviceName(i));
let seq = 0;

function phase(protocol: 'sotw' | 'delta', mode: 'plain' | 'pre-encoded'): number {
  const ads = new AdsServer({ cache: app.cache, events: new XdsEvents(), clock: systemClock, protos: loadProtos().protos });
  const method = protocol === 'sotw' ? 'StreamAggregatedResources' : 'DeltaAggregatedResources';
  const serialize = (mode === 'plain' ? service[method].responseSerialize : wrapped[method].responseSerialize) as Serialize;
  const calls = Array.from({ length: streams }, () => new FakeCall(serialize));
  calls.forEach((c, i) => {
    (protocol === 'sotw' ? ads.streamAggregatedResources : ads.deltaAggregatedResources)(c as never);
    const node = { id: `ab-${i}` };
    if (protocol === 'sotw')
      c.emit('data', { node, type_url: TypeUrl.Endpoint, version_info: '', response_nonce: '', resource_names: names, error_detail: null });
    else
      c.emit('data', {
        node,
        type_url: TypeUrl.Endpoint,
        resource_names_subscribe: names,
        resource_names_unsubscribe: [],
        initial_resource_versions: {},
        response_nonce: '',
        error_detail: null,
      });
  });
  const perPublishUs: number[] = [];
  for (let k = 0; k < publishes; k++) {
    const before = process.cpuUsage();
    app.publisher.setPlan(serviceName(k % services), planForShare(0.2 + 0.001 * ++seq));
    const d = process.cpuUsage(before);
    perPublishUs.push(d.user + d.system);
  }
  ads.closeAll();
  return median(perPublishUs) / 1000;
}

// Alternate modes so drift in machine load hits both alike; the first round warms the JIT.
for (const protocol of ['sotw', 'delta'] as const) {
  const results: Record<string, number[]> = { plain: [], 'pre-encoded': [] };
  for (let round_ = 0; round_ < 4; round_++) {
    for (const mode of ['plain', 'pre-encoded'] as const) {
      const ms = phase(protocol, mode);
      if (round_ > 0) results[mode]!.push(ms);
    }
  }
  for (const [mode, ms] of Object.entries(results)) {
    process.stdout.write(
      `${protocol} ${mode}: publish to ${streams} streams: CPU median ${round(median(ms), 2)} ms (rounds: ${ms.map((x) => round(x, 1)).join(', ')})\n`,
    );
  }
}
await app.stop();
process.exit(0);
