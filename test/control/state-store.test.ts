// The operating state document and the file store it is kept in.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeOperatingState, emptyOperatingState, encodeOperatingState, STATE_VERSION } from '../../src/control/operating-state.js';
import { FileStateStore, STATE_FILE } from '../../src/control/state-store.js';

const T0 = 1_700_000_000_000;

describe('operating state document', () => {
  it('round-trips through its JSON text', () => {
    const s = emptyOperatingState(T0);
    s.services['echo'] = {
      cordons: { '10.0.0.1:80': { state: 'DRAINING', sinceMs: T0 - 1 } },
      plan: { plan: { inHouseWeight: 600, modalWeight: 400, modalHealth: 'HEALTHY', dropPercent: 1.5 }, source: 'CONTROLLER', sinceMs: T0 },
      override: { share: 0.25, reason: 'incident 42', setAtMs: T0, expiresAtMs: T0 + 60_000 },
      controller: { decision: { any: ['json', 1, null] }, asOfMs: T0 },
      modalAddress: { hostname: 'ws--echo.modal.run', ips: ['192.0.2.1'], sinceMs: T0 },
    };
    expect(decodeOperatingState(encodeOperatingState(s))).toEqual({ ok: true, state: s });
  });

  it.each([
    ['not JSON', '{"schema":', /not JSON/],
    ['another document', JSON.stringify({ schema: 'something.else', version: 1 }), /schema: expected "spillway.operating-state"/],
    [
      'a later version',
      JSON.stringify({ schema: 'spillway.operating-state', version: STATE_VERSION + 1 }),
      /reads version 1, the document is version 2/,
    ],
    [
      'a bad cordon',
      JSON.stringify({ ...emptyOperatingState(T0), services: { echo: { cordons: { 'a:1': { state: 'GONE', sinceMs: 1 } } } } }),
      /services.echo.cordons\["a:1"\].state: must be one of DRAINING, DEGRADED, got "GONE"/,
    ],
    [
      'a bad plan',
      JSON.stringify({
        ...emptyOperatingState(T0),
        services: {
          echo: {
            cordons: {},
            plan: {
              plan: { inHouseWeight: 1.5, modalWeight: 0, modalHealth: 'HEALTHY', dropPercent: 0 },
              source: 'CONTROLLER',
              sinceMs: 1,
            },
          },
        },
      }),
      /services.echo.plan.plan.inHouseWeight: must be a whole number/,
    ],
    [
      'an override share out of range',
      JSON.stringify({
        ...emptyOperatingState(T0),
        services: { echo: { cordons: {}, override: { share: 2, reason: '', setAtMs: 1, expiresAtMs: 2 } } },
      }),
      /services.echo.override.share: must be between 0 and 1/,
    ],
  ])('refuses %s, saying where', (_what, text, why) => {
    const r = decodeOperatingState(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(why);
  });
});

describe('FileStateStore', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'spillway-state-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) {
      chmodSync(d, 0o700);
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('has nothing before the first save; saves create the directory and replace the document whole', async () => {
    const dir = join(tempDir(), 'nested', 'state');
    const store = new FileStateStore(dir);
    expect(store.location).toBe(join(dir, STATE_FILE));
    expect(await store.load()).toBeUndefined();
    await store.save('{"a":1}\n');
    const before = statSync(store.location).ino;
    await store.save('{"b":2}\n');
    expect(await store.load()).toBe('{"b":2}\n');
    // A new file renamed over the old one, never the old one rewritten in place (a crash mid-write
    // would leave half a document).
    expect(statSync(store.location).ino).not.toBe(before);
    // Only the document is left behind: the temporary file was renamed over it.
    expect(readdirSync(dir)).toEqual([STATE_FILE]);
  });

  it('a crash before the rename leaves the previous document readable', async () => {
    const dir = tempDir();
    const store = new FileStateStore(dir);
    await store.save('{"good":true}\n');
    // What a kill -9 between write and rename leaves: a half-written temporary file.
    writeFileSync(join(dir, `.${STATE_FILE}.99999.tmp`), '{"half');
    expect(await new FileStateStore(dir).load()).toBe('{"good":true}\n');
  });

  it('an unreadable document is an error naming the file', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, STATE_FILE)); // a directory where the file should be
    await expect(new FileStateStore(dir).load()).rejects.toThrow(new RegExp(`cannot read ${join(dir, STATE_FILE)}`));
  });

  it('a failed save is an error naming the file, and leaves no temporary file', async () => {
    const dir = tempDir();
    const store = new FileStateStore(dir);
    await store.save('{"v":1}\n');
    if (process.getuid?.() === 0) {
      // root ignores permissions: make the rename fail instead.
      const blocked = new FileStateStore(join(dir, STATE_FILE));
      await expect(blocked.save('{}')).rejects.toThrow(/cannot write .*spillway-state.json/);
      return;
    }
    chmodSync(dir, 0o500);
    await expect(store.save('{"v":2}\n')).rejects.toThrow(new RegExp(`cannot write ${join(dir, STATE_FILE)}`));
    chmodSync(dir, 0o700);
    expect(readFileSync(join(dir, STATE_FILE), 'utf8')).toBe('{"v":1}\n');
  });
});
