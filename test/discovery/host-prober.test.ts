import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse-config.js';
import type { ServiceConfig } from '../../src/config/config-types.js';
import { HostProber } from '../../src/discovery/host-prober.js';
import { startHttpBackend, type BackendHandle } from '../../tools/backends/http-backend.js';
import { freePort } from '../../tools/ports.js';
import { waitFor } from '../../tools/wait-for.js';
import { realScheduler } from '../../src/core/scheduler.js';
import { systemClock } from '../../src/core/clock.js';
import { VirtualTime } from '../support/virtual-time.js';

const serviceWith = (probe: string, ports: number[]): ServiceConfig => {
  const r = parseConfigText(`
services:
  - name: api
    listener: 127.0.0.1:8080
    in_house:
      endpoints: [${ports.map((p) => `{ address: 127.0.0.1, port: ${p}, capacity: 4 }`).join(', ')}]
      ${probe}
`);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config.services[0]!;
};

describe('HostProber', () => {
  const stops: Array<() => void | Promise<void>> = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
  });

  it('probes each host on the interval and reports threshold crossings, in virtual time', async () => {
    const vt = new VirtualTime(0);
    let services = [serviceWith('probe: { path: /ready, interval_ms: 500, unhealthy_threshold: 2 }', [1, 2])];
    const down = new Set<number>();
    const checks: string[] = [];
    const changes: Array<[number, string]> = [];
    const prober = new HostProber({
      services: () => services,
      endpointsOf: () => services[0]?.inHouse ?? [],
      clock: vt,
      scheduler: vt,
      check: async (_a, port, path) => {
        checks.push(`${port}${path}`);
        return !down.has(port);
      },
      onChange: (s) => changes.push([vt.nowMs(), s]),
    });
    prober.start();
    stops.push(() => prober.stop());
    await vt.advance(10);
    expect(checks).toEqual(['1/ready', '2/ready']);
    expect(changes).toEqual([[0, 'api']]); // first passes: both up
    down.add(2);
    await vt.advance(1000);
    expect(changes).toEqual([
      [0, 'api'],
      [1000, 'api'],
    ]);
    expect(prober.statesOf('api').get('127.0.0.1:2')).toMatchObject({ up: false, sinceMs: 1000 });
    expect(prober.statesOf('api').get('127.0.0.1:1')).toMatchObject({ up: true, sinceMs: 0 });
    down.delete(2);
    await vt.advance(500);
    expect(prober.statesOf('api').get('127.0.0.1:2')).toMatchObject({ up: true, sinceMs: 1500 });
    // A reload that removes the probe ends the chain and forgets the states.
    services = [serviceWith('', [1, 2])];
    await vt.advance(1000);
    const n = checks.length;
    await vt.advance(5000);
    expect(checks.length).toBe(n);
    expect(prober.statesOf('api').size).toBe(0);
  });

  it('checks real hosts over HTTP: 2xx passes, a refused connection fails', async () => {
    const up: BackendHandle = await startHttpBackend('up');
    stops.push(() => up.close());
    const closed = await freePort();
    const services = [serviceWith('probe: { path: /healthz, interval_ms: 100, unhealthy_threshold: 1 }', [up.port, closed])];
    const prober = new HostProber({
      services: () => services,
      endpointsOf: () => services[0]!.inHouse,
      clock: systemClock,
      scheduler: realScheduler,
      onChange: () => {},
    });
    prober.start();
    stops.push(() => prober.stop());
    await waitFor(() => prober.statesOf('api').size === 2, 3000, 'both hosts probed');
    const states = prober.statesOf('api');
    expect(states.get(`127.0.0.1:${up.port}`)?.up).toBe(true);
    expect(states.get(`127.0.0.1:${closed}`)?.up).toBe(false);
    expect(up.requests.some((r) => r.path === '/healthz')).toBe(true);
  });
});
