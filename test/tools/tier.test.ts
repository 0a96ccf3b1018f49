import { describe, expect, it } from 'vitest';
import { assertTestTarget } from '../../tools/loadgen/test-target.js';
import { attributeResponse } from '../../tools/loadgen/tier.js';

describe('tier attribution', () => {
  it('names Modal by its container header, in-house by x-tier or x-served-by', () => {
    expect(attributeResponse(200, { 'x-modal-container': 'ctr-3' })).toEqual({ tier: 'modal', server: 'ctr-3' });
    expect(attributeResponse(200, { 'x-tier': 'in-house', 'x-served-by': 'host-a' })).toEqual({ tier: 'in_house', server: 'host-a' });
    expect(attributeResponse(200, { 'x-served-by': 'in-house-2' })).toEqual({ tier: 'in_house', server: 'in-house-2' });
    // An overloaded host's own 503 is in-house, not shed.
    expect(attributeResponse(503, { 'x-served-by': 'in-house-1', 'x-tier': 'in-house' }).tier).toBe('in_house');
  });

  it("counts Envoy's own 503/429 as shed", () => {
    expect(attributeResponse(503, { 'x-envoy-overloaded': 'true' }).tier).toBe('shed');
    expect(attributeResponse(429, { 'x-envoy-ratelimited': 'true' }).tier).toBe('shed');
    expect(attributeResponse(503, { 'x-envoy-drop-overload': 'true' }).tier).toBe('shed'); // Spillway's drop_overloads
    expect(attributeResponse(503, { 'content-type': 'text/plain' }).tier).toBe('other'); // "no healthy upstream": not on purpose
  });

  it('leaves an upstream answer it cannot place as other', () => {
    expect(attributeResponse(503, { 'x-envoy-upstream-service-time': '3' }).tier).toBe('other');
    expect(attributeResponse(303, { location: 'https://x/?__modal_function_call_id=fc-1' }).tier).toBe('other');
    expect(attributeResponse(200, { 'x-served-by': 'someone-else' })).toEqual({ tier: 'other', server: 'someone-else' });
  });
});

describe('test targets only', () => {
  it('allows loopback, localhost, compose service names and listed hosts; refuses the rest', () => {
    for (const u of ['http://127.0.0.1:10000', 'http://[::1]:1', 'http://localhost/', 'http://envoy:10000'])
      expect(() => assertTestTarget(new URL(u))).not.toThrow();
    expect(() => assertTestTarget(new URL('http://example.com/'))).toThrow(/refusing/);
    expect(() => assertTestTarget(new URL('http://10.0.0.5/'))).toThrow(/refusing/);
    expect(() => assertTestTarget(new URL('http://10.0.0.5/'), ['10.0.0.5'])).not.toThrow();
    expect(() => assertTestTarget(new URL('https://127.0.0.1/'))).toThrow(/http:/);
  });
});
