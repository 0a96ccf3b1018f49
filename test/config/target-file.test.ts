import { describe, expect, it } from 'vitest';
import { parseTargetFile } from '../../src/config/parse-target-file.js';

describe('endpoint target files (Prometheus file discovery style)', () => {
  it('reads JSON and YAML target groups, IPv4 and IPv6, with group, label or default capacities', () => {
    const json = JSON.stringify([
      { targets: ['10.0.0.1:8080', '[2001:db8::7]:8080'], capacity: 16 },
      { targets: ['10.0.0.2:8080'], labels: { capacity: '4', zone: 'a' } },
      { targets: ['10.0.0.3:9090'] },
    ]);
    expect(parseTargetFile(json, 'fleet.json', 8)).toEqual({
      ok: true,
      endpoints: [
        { address: '10.0.0.1', port: 8080, capacity: 16 },
        { address: '2001:db8::7', port: 8080, capacity: 16 },
        { address: '10.0.0.2', port: 8080, capacity: 4 },
        { address: '10.0.0.3', port: 9090, capacity: 8 },
      ],
    });
    const yaml = '- targets: ["10.0.0.1:80"]\n  capacity: 2\n';
    expect(parseTargetFile(yaml, 'fleet.yaml', undefined)).toEqual({
      ok: true,
      endpoints: [{ address: '10.0.0.1', port: 80, capacity: 2 }],
    });
    expect(parseTargetFile('', 'empty.json', 1)).toEqual({ ok: true, endpoints: [] });
  });

  it('refuses a broken file naming the file and every bad field', () => {
    const r = parseTargetFile(
      JSON.stringify([
        { targets: ['10.0.0.1:8080', 'web-1:8080', '10.0.0.1:8080'], capacity: 0 },
        { targets: 'nope', colour: 'red' },
        { targets: ['10.0.0.9:80'], labels: { capacity: 'lots' } },
      ]),
      '/etc/fleet.json',
      4,
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors).toEqual([
      '/etc/fleet.json: [0].capacity: must be between 1 and 1000000, got 0',
      '/etc/fleet.json: [0].targets[1]: must be "ip:port" (or "[ipv6]:port"), got "web-1:8080"',
      '/etc/fleet.json: [0].targets[2]: duplicate target 10.0.0.1:8080 (also [0].targets[0])',
      '/etc/fleet.json: [1].colour: unknown field (expected one of: targets, capacity, labels)',
      '/etc/fleet.json: [1].targets: must be a list',
      '/etc/fleet.json: [2].labels.capacity: must be a whole number from 1 to 1000000, got "lots"',
    ]);
    expect(parseTargetFile('[{ targets: [', 'x.yaml', 1)).toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/^x\.yaml: not valid JSON or YAML/)],
    });
    expect(parseTargetFile('[{"targets": ["10.0.0.1:80"]}]', 'x.json', undefined)).toEqual({
      ok: false,
      errors: ['x.json: [0].capacity: is required (no capacity for the file or the service: set in_house.capacity)'],
    });
  });
});
