import { describe, expect, it } from 'vitest';
import { parseAdminCommand, parseDuration, parseShare, type AdminCommand, type AdminVerb } from '../../src/cli/args.js';

const env = { SPILLWAY_ADMIN_TOKEN: 'tok', OTHER_TOKEN: 'other' };
const parse = (verb: AdminVerb, ...argv: string[]) => parseAdminCommand(verb, argv, env);
const ok = (verb: AdminVerb, ...argv: string[]): AdminCommand => {
  const r = parse(verb, ...argv);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};
const error = (verb: AdminVerb, ...argv: string[]): string => {
  const r = parse(verb, ...argv);
  if (r.ok) throw new Error(`parsed: ${JSON.stringify(r.value)}`);
  return r.error;
};

describe('admin verb arguments (pure)', () => {
  it('durations need units and add up; shares take fractions or percentages', () => {
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('250ms')).toBe(250);
    for (const bad of ['15', 'm', '-5m', '0s', '1d', '1.5.2m', '']) expect(parseDuration(bad), bad).toBeUndefined();
    expect(parseShare('0.3')).toBe(0.3);
    expect(parseShare('30%')).toBeCloseTo(0.3);
    expect(parseShare('.5')).toBe(0.5);
    expect(parseShare('0')).toBe(0);
    for (const bad of ['1.2', '130%', '-0.1', 'abc', '', '0.3.1']) expect(parseShare(bad), bad).toBeUndefined();
  });

  it('parses each verb into a typed command, with the token from the environment', () => {
    expect(ok('status')).toEqual({ verb: 'status', target: { admin: '127.0.0.1:18081', token: 'tok', output: 'table' }, node: undefined });
    expect(ok('status', '--node', 'envoy-1', '-o', 'json', '--admin', 'cp:9000')).toMatchObject({
      node: 'envoy-1',
      target: { admin: 'cp:9000', output: 'json' },
    });
    expect(ok('cordon', 'echo', '10.0.0.11:8080', '--reason', 'kernel upgrade')).toMatchObject({
      verb: 'cordon',
      service: 'echo',
      endpoint: '10.0.0.11:8080',
      reason: 'kernel upgrade',
    });
    expect(ok('uncordon', 'echo', '10.0.0.11:8080')).toMatchObject({ reason: '' });
    expect(ok('override', 'echo', '--share', '30%', '--for', '15m', '--reason', 'load test')).toMatchObject({
      verb: 'override',
      durationMs: 900_000,
      reason: 'load test',
    });
    expect(ok('clear-override', 'echo', '--token-env', 'OTHER_TOKEN')).toMatchObject({ target: { token: 'other' } });
    expect(parseAdminCommand('status', [], { SPILLWAY_ADMIN: '10.1.1.1:7000' })).toMatchObject({
      ok: true,
      value: { target: { admin: '10.1.1.1:7000', token: undefined } },
    });
  });

  it('every bad argument gets an error naming it', () => {
    expect(error('cordon', 'echo')).toBe('missing ENDPOINT (usage: spillway cordon SERVICE ENDPOINT)');
    expect(error('cordon')).toBe('missing SERVICE ENDPOINT (usage: spillway cordon SERVICE ENDPOINT)');
    expect(error('cordon', 'echo', '10.0.0.1:80', 'extra', '--reason', 'x')).toBe('unexpected argument "extra"');
    expect(error('cordon', 'echo', '10.0.0.1', '--reason', 'x')).toMatch(/^ENDPOINT: expected ADDRESS:PORT/);
    expect(error('cordon', 'echo', '10.0.0.1:99999', '--reason', 'x')).toMatch(/^ENDPOINT: expected ADDRESS:PORT/);
    expect(error('cordon', 'echo', '10.0.0.1:80')).toMatch(/^--reason: required/);
    expect(error('soft-cordon', 'echo', '10.0.0.1:80', '--reason', '  ')).toBe('--reason: must not be empty');
    expect(error('override', 'echo', '--for', '1m', '--reason', 'x')).toMatch(/^--share: required/);
    expect(error('override', 'echo', '--share', '2', '--for', '1m', '--reason', 'x')).toMatch(
      /^--share: expected a number between 0 and 1/,
    );
    expect(error('override', 'echo', '--share', '0.3', '--reason', 'x')).toMatch(/^--for: required/);
    expect(error('override', 'echo', '--share', '0.3', '--for', '15', '--reason', 'x')).toMatch(/^--for: expected a duration with units/);
    expect(error('override', 'echo', '--share', '0.3', '--for', '25h', '--reason', 'x')).toBe('--for: at most 24h, got "25h"');
    expect(error('override', 'echo', '--share', '0.3', '--for', '1m')).toMatch(/^--reason: required/);
    expect(error('override', '--share', '0.3', '--for', '1m', '--reason', 'x')).toMatch(/^missing SERVICE/);
    expect(error('status', '--shar', '1')).toMatch(/Unknown option '--shar'/);
    expect(error('status', '--output', 'yaml')).toBe('--output: expected "table" or "json", got "yaml"');
    expect(error('status', '--admin', 'nohost')).toBe('--admin: expected HOST:PORT, got "nohost"');
    expect(error('status', '--token-env', 'MISSING_VAR')).toBe('--token-env: environment variable MISSING_VAR is not set');
    expect(error('status', '--token-env', 'bad name')).toMatch(/is not an environment variable name/);
    expect(error('status', 'extra')).toBe('unexpected argument "extra"');
    expect(error('status', '--node', '')).toBe('--node: must not be empty');
  });
});
