import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, validateCapacityConfig } from '../../src/config/capacity-policy.js';

describe('capacity policy config', () => {
  it('fills every default from an empty mapping', () => {
    const r = validateCapacityConfig({}, 'services[0].capacity');
    expect(r).toEqual({ ok: true, value: DEFAULT_POLICY });
  });

  it('reads snake_case overrides, including the nested prewarm block', () => {
    const r = validateCapacityConfig({
      policy: 'seed',
      start_utilization: 0.9,
      stop_utilization: 0.5,
      unobservable: 'zero',
      prewarm: { enabled: false, cooldown_ms: 5000 },
      cost_cap_container_seconds_per_hour: 3600,
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.name).toBe('seed');
    expect(r.value.seed.startUtilization).toBe(0.9);
    expect(r.value.default.unobservable).toBe('zero');
    expect(r.value.default.prewarm).toEqual({ ...DEFAULT_POLICY.default.prewarm, enabled: false, cooldownMs: 5000 });
    expect(r.value.default.costCapContainerSecondsPerHour).toBe(3600);
  });

  it.each([
    [{ start_utilization: 1.5 }, 'services[0].capacity.start_utilization: must be > 0 and ≤ 1, got 1.5'],
    [{ stop_utilization: -0.1 }, 'services[0].capacity.stop_utilization: must be between 0 and 1, got -0.1'],
    [{ start_utilization: 0.5, stop_utilization: 0.6 }, 'services[0].capacity.stop_utilization: must be below start_utilization'],
    [{ policy: 'magic' }, 'services[0].capacity.policy: must be one of seed, default, got "magic"'],
    [{ start_margin: 'wide' }, 'services[0].capacity.start_margin: must be a number, got "wide"'],
    [{ prewarm: { horizon_ms: -1 } }, 'services[0].capacity.prewarm.horizon_ms: must be ≥ 0, got -1'],
    [
      { prewarm: { colour: 1 } },
      'services[0].capacity.prewarm.colour: unknown field (expected one of: enabled, horizon_ms, base_min_containers, cooldown_ms)',
    ],
    [{ prewarm: 3 }, 'services[0].capacity.prewarm: must be a mapping'],
    [{ fail_after_errors: 1.5 }, 'services[0].capacity.fail_after_errors: must be an integer ≥ 1, got 1.5'],
    [{ hold_ms: 10_000 }, expect.stringMatching(/^services\[0\]\.capacity\.hold_ms: unknown field/)],
    [
      { targt_utilization: 0.7 },
      expect.stringMatching(/^services\[0\]\.capacity\.targt_utilization: unknown field \(expected one of: policy, /),
    ],
    [{ target_utilization: 0.9, max_utilization: 0.8 }, 'services[0].capacity.max_utilization: must be ≥ target_utilization'],
  ])('rejects %j naming the field path', (raw, message) => {
    const r = validateCapacityConfig(raw, 'services[0].capacity');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toContainEqual(message);
  });

  it('reports every error at once', () => {
    const r = validateCapacityConfig({ start_utilization: 2, dead_band: 0.9, shed: 'yes' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toHaveLength(3);
  });
});
