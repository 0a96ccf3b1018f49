// Sticky sessions across tiers, through a real Envoy: a session stays on the in-house host or the
// Modal container where it started while the Modal share changes under it; new sessions follow the
// live weights; a cordoned host's, a soft-cordoned or removed Modal's sessions move without errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModalHealth, planForShare } from '../../src/model/traffic-plan.js';
import { waitFor } from '../../tools/wait-for.js';
import { PIN_HEADER, servedBy, startTrafficRig, type TrafficRig } from '../../tools/traffic-rig.js';

const SESSIONS = 100;

interface Session {
  id: string;
  pin?: string;
  places: string[];
}

describe('sticky sessions through Envoy (stateful session + Modal-Session-Id)', () => {
  let rig: TrafficRig;
  const failures: string[] = [];

  beforeAll(async () => {
    // Four containers that stay up: Modal's rendezvous hashing is only stable over a stable set.
    rig = await startTrafficRig({ inHouse: 3, modal: { minContainers: 4, maxContainers: 4 } });
    await waitFor(
      () => rig.fake.state().functions[0]!.containers.filter((c) => c.state === 'live').length === 4,
      10_000,
      'four live containers',
    );
  });
  afterAll(async () => {
    await rig?.close();
  });

  /** One request of a session: sends its Modal-Session-Id and its pin, keeps the pin Envoy hands back. */
  async function step(s: Session): Promise<string> {
    const headers: Record<string, string> = { 'modal-session-id': s.id };
    if (s.pin) headers[PIN_HEADER] = s.pin;
    const res = await fetch(`${rig.base}/chat?ms=2`, { headers });
    await res.arrayBuffer();
    const place = servedBy(res);
    if (res.status !== 200) failures.push(`${s.id}: ${res.status} from ${place}`);
    // Envoy sends the pin only when it is new or changed.
    const pin = res.headers.get(PIN_HEADER);
    if (pin) s.pin = pin;
    s.places.push(place);
    return place;
  }

  const round = (sessions: Session[]): Promise<string[]> => Promise.all(sessions.map(step));
  const modalFraction = (places: string[]): number => places.filter((p) => p.startsWith('modal:')).length / places.length;

  it('keeps each of 100 sessions × 20 requests on one in-house host or one Modal container while the share changes', async () => {
    const sessions: Session[] = Array.from({ length: SESSIONS }, (_, i) => ({ id: `session-${i}`, places: [] }));
    const shares = [0.3, 0.7, 0.1, 0.5];
    for (let r = 0; r < 20; r++) {
      if (r % 5 === 0) await rig.setPlan(planForShare(shares[r / 5]!));
      const places = await round(sessions);
      // New sessions are split by the live locality weights, not frozen by the pins.
      if (r === 0) expect(Math.abs(modalFraction(places) - 0.3)).toBeLessThanOrEqual(0.15);
    }
    expect(failures).toEqual([]);
    const stuck = sessions.filter((s) => new Set(s.places).size === 1).length;
    expect(
      stuck / SESSIONS,
      sessions
        .filter((s) => new Set(s.places).size > 1)
        .map((s) => `${s.id}: ${s.places.join(' ')}`)
        .join('\n'),
    ).toBeGreaterThanOrEqual(0.99);
    // Modal got the client's Modal-Session-Id untouched: its sessions spread over its containers by hash.
    const containers = new Set(sessions.map((s) => s.places[0]!).filter((p) => p.startsWith('modal:')));
    expect(containers.size).toBeGreaterThanOrEqual(2);

    // Fresh sessions at the current share (0.5 → 0.8) follow the new weights.
    await rig.setPlan(planForShare(0.8));
    const fresh = await round(Array.from({ length: 200 }, (_, i) => ({ id: `fresh-${i}`, places: [] })));
    expect(Math.abs(modalFraction(fresh) - 0.8)).toBeLessThanOrEqual(0.1);
  });

  it('moves the sessions of a cordoned in-house host and of a soft-cordoned, then removed, Modal with no failed request', async () => {
    const sessions: Session[] = Array.from({ length: SESSIONS }, (_, i) => ({ id: `drain-${i}`, places: [] }));
    await rig.setPlan(planForShare(0.4));
    const start = await round(sessions);
    await round(sessions);
    const host = rig.inHouse[0]!;
    const onHost = sessions.filter((_, i) => start[i] === host.name);
    const onModal = sessions.filter((_, i) => start[i]!.startsWith('modal:'));
    expect(onHost.length).toBeGreaterThan(0);
    expect(onModal.length).toBeGreaterThan(0);

    // Cordon one in-house host (DRAINING) and soft-cordon Modal (DEGRADED) at once.
    rig.app.publisher.setCordon('echo', `127.0.0.1:${host.port}`, 'DRAINING');
    await rig.setPlan({ ...planForShare(0.4), modalHealth: ModalHealth.Degraded });
    const moved = await round(sessions);
    for (let r = 0; r < 3; r++) await round(sessions);
    expect(failures).toEqual([]);
    const after = (s: Session): string[] => s.places.slice(2);
    for (const s of onHost) expect(after(s)[0]).not.toBe(host.name);
    for (const s of onModal) expect(after(s)[0]!.startsWith('modal:'), `${s.id} stayed on a soft-cordoned Modal`).toBe(false);
    // Each moved session sticks to its new host.
    for (const s of [...onHost, ...onModal]) expect(new Set(after(s)).size, `${s.id}: ${after(s).join(' ')}`).toBe(1);
    // Sessions elsewhere did not move.
    sessions.forEach((s, i) => {
      if (!onHost.includes(s) && !onModal.includes(s)) expect(moved[i]).toBe(start[i]);
    });

    // Modal removed altogether, the host uncordoned: still no failed request.
    rig.app.publisher.setCordon('echo', `127.0.0.1:${host.port}`, undefined);
    await rig.setPlan(planForShare(0));
    const last = await round(sessions);
    expect(failures).toEqual([]);
    expect(last.some((p) => p.startsWith('modal:'))).toBe(false);
  });
});
