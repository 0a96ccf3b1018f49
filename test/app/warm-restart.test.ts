// A Spillway restarted on the same state directory resumes: the same snapshot versions (so a
// reconnecting Envoy is sent nothing new), overrides for the time they have left, cordons, and the
// controller's memory. A state file it cannot use is reported, naming the file, and never fatal.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { startSpillway, type AppDeps, type SpillwayApp } from '../../src/app/spillway-app.js';
import { decide } from '../../src/capacity/decide.js';
import type { Decision } from '../../src/capacity/types.js';
import { emptyOperatingState, encodeOperatingState } from '../../src/control/operating-state.js';
import { STATE_FILE } from '../../src/control/state-store.js';
import { createLogger } from '../../src/core/logger.js';
import type { ModalApi } from '../../src/modal/types.js';
import { shareOf } from '../../src/model/traffic-plan.js';
import { TypeUrl } from '../../src/xds/type-urls.js';
import { configFrom, FREE_PORTS } from '../../tools/config-fixtures.js';
import { inputs } from '../capacity/fixtures.js';

const stubModal: ModalApi = {
  lookup: async (ref) => ({
    ref,
    functionId: 'fu-1',
    currentStats: async () => ({ backlog: 0, numTotalRunners: 4, numRunningInputs: 8, inputHeadroom: 8 }),
    updateAutoscaler: async (s) => s,
  }),
  close: () => {},
};

function raw(dir: string): Record<string, unknown> {
  return {
    ...FREE_PORTS,
    state: { dir },
    controller: { tick_ms: 100 },
    services: [
      {
        name: 'svc',
        listener: '127.0.0.1:20011',
        in_house: {
          endpoints: [
            { address: '10.0.0.1', port: 80, capacity: 40 },
            { address: '10.0.0.2', port: 80, capacity: 40 },
          ],
        },
        modal: {
          url: 'https://ws--svc.modal.run',
          connect_address: '192.0.2.1',
          app: 'a',
          function: 'f',
          max_inputs: 10,
          max_containers: 40,
        },
        capacity: { policy: 'default', stale_after_ms: 15_000, prewarm: { enabled: false } },
      },
      {
        name: 'plain',
        listener: '127.0.0.1:20012',
        in_house: { endpoints: [{ address: '10.0.1.1', port: 80, capacity: 4 }] },
        modal: { url: 'https://ws--plain.modal.run', connect_address: '192.0.2.2', app: 'a', function: 'g', max_containers: 2 },
        capacity: { policy: 'static' },
      },
    ],
  };
}

function logs(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  let text = '';
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(c: Buffer, _e, cb) {
        text += c.toString();
        cb();
      },
    }),
  });
  return { logger, text: () => text };
}

const versions = (app: SpillwayApp): Record<string, string> =>
  Object.fromEntries(Object.entries(app.cache.current()!.types).map(([t, s]) => [t.split('.').pop(), s.version]));

describe('warm restart from the state directory', () => {
  const dirs: string[] = [];
  const apps: SpillwayApp[] = [];
  const start = async (dir: string, deps: AppDeps = {}): Promise<SpillwayApp> => {
    const app = await startSpillway(configFrom(raw(dir)), { modalApi: stubModal, ...deps });
    apps.push(app);
    return app;
  };
  const tempDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'spillway-warm-'));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.stop();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('resumes overrides, cordons and plans: the restarted Spillway publishes the very versions it published before', async () => {
    const dir = tempDir();
    const first = await start(dir);
    expect(first.router.override('plain', 0.4, 600_000, 'load test').ok).toBe(true);
    expect(first.publisher.setCordon('svc', '10.0.0.2:80', 'DRAINING').ok).toBe(true);
    const before = versions(first);
    const override = first.overrides.get('plain')!;
    await first.stop();
    const second = await start(dir);
    // Identical content, so identical hashes: a reconnecting Envoy that has these is sent nothing.
    expect(versions(second)).toEqual(before);
    expect(second.overrides.get('plain')).toEqual(override);
    expect(second.router.source('plain')).toBe('OVERRIDE');
    expect(second.publisher.cordonsOf('svc').get('10.0.0.2:80')).toBe('DRAINING');
    expect(second.restored?.notes.join('\n')).toMatch(/plain: override to 40.0 % Modal restored for \d+ s more/);
  });

  it('resumes the controller from its memory and publishes its plan before the first stream; older memory falls back to the fail-safe', async () => {
    const dir = tempDir();
    const cfg = configFrom(raw(dir));
    const svc = cfg.services[0]!;
    const now = Date.now();
    let d: Decision | undefined;
    for (let t = now - 20_000; t <= now; t += 1000) {
      const share = d ? d.plan.modalWeight / 1000 : 0;
      d = decide(
        d,
        { ...inputs(t, { offered: 900, modalShare: share, runners: 12, runningInputs: 20, inputHeadroom: 80 }), service: 'svc' },
        t,
        svc.capacity!,
      );
    }
    expect(d!.mode).toBe('spilling');
    const save = (asOfMs: number): void => {
      const s = emptyOperatingState(asOfMs);
      s.services['svc'] = {
        cordons: {},
        plan: { plan: d!.plan, source: 'CONTROLLER', sinceMs: asOfMs },
        controller: { decision: d, asOfMs },
      };
      writeFileSync(join(dir, STATE_FILE), encodeOperatingState(s));
    };

    save(now);
    const app = await start(dir);
    // Published at start: the restored plan is what the first snapshot carries.
    expect(app.publisher.plan('svc')).toEqual(d!.plan);
    expect(shareOf(app.publisher.plan('svc'))).toBeGreaterThan(0.1);
    // No Envoy reports load yet: the controller holds its restored plan rather than deciding on nothing.
    await new Promise((r) => setTimeout(r, 400));
    expect(app.controller!.current('svc')?.plan).toEqual(d!.plan);
    expect(app.controller!.current('svc')?.reason).toMatch(/^holding the last plan/);
    expect(app.publisher.plan('svc')).toEqual(d!.plan);
    const restoredEds = app.cache.current()!.types[TypeUrl.Endpoint].version;
    await app.stop();

    save(now - 16_000); // older than stale_after_ms (15 s)
    const cold = await start(dir);
    expect(shareOf(cold.publisher.plan('svc'))).toBe(0);
    expect(cold.cache.current()!.types[TypeUrl.Endpoint].version).not.toBe(restoredEds);
    expect(cold.restored?.notes.join('\n')).toMatch(
      /older than capacity.stale_after_ms \(15000 ms\); the policy starts from its fail-safe/,
    );
  });

  it('saves what the controller decides, and a stop writes the latest state', async () => {
    const dir = tempDir();
    const app = await start(dir);
    await new Promise((r) => setTimeout(r, 400));
    const metrics = await (await fetch(`http://127.0.0.1:${app.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/spillway_state_last_save_age_seconds \d/);
    expect(metrics).toMatch(/spillway_state_save_errors_total 0/);
    await app.stop();
    apps.length = 0;
    const second = await start(dir);
    expect(second.restored?.services.find((s) => s.service === 'svc')?.controller?.decision.service).toBe('svc');
  });

  it('a Spillway that fails to start (its port taken) leaves the state it was handed as it was', async () => {
    const dir = tempDir();
    const first = await start(dir);
    expect(first.router.override('plain', 0.4, 600_000, 'load test').ok).toBe(true);
    const cfg = configFrom(raw(dir));
    cfg.xds.listen = { host: '127.0.0.1', port: first.xdsPort };
    await first.stop();
    apps.length = 0;
    const saved = readFileSync(join(dir, STATE_FILE), 'utf8');
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(first.xdsPort, '127.0.0.1', r));
    try {
      await expect(startSpillway(cfg, { modalApi: stubModal })).rejects.toThrow(/cannot listen/);
    } finally {
      taken.close();
    }
    expect(readFileSync(join(dir, STATE_FILE), 'utf8')).toBe(saved);
  });

  it.each([
    ['a corrupt state file', '{"schema": "spillway.operating-state", "vers'],
    ['a state file of an unknown version', JSON.stringify({ schema: 'spillway.operating-state', version: 99 })],
  ])('%s is reported, naming the file, and ignored', async (_what, content) => {
    const dir = tempDir();
    writeFileSync(join(dir, STATE_FILE), content);
    const { logger, text } = logs();
    const app = await start(dir, { logger });
    expect(app.restored).toBeUndefined();
    expect(shareOf(app.publisher.plan('plain'))).toBe(0);
    const line = text()
      .split('\n')
      .find((l) => l.includes('operating state not understood'));
    expect(line).toContain(join(dir, STATE_FILE));
    // And the next save replaces it with a good document.
    await app.stop();
    apps.length = 0;
    const again = await start(dir);
    expect(again.restored).toBeDefined();
  });
});
