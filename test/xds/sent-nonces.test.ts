import { describe, expect, it } from 'vitest';
import { REMEMBERED_NONCES, SentNonces } from '../../src/xds/sent-nonces.js';

describe('sent nonces (sent-nonces.ts)', () => {
  it('names the version each recent nonce carried, and forgets the oldest beyond its ring', () => {
    const sent = new SentNonces();
    for (let i = 1; i <= REMEMBERED_NONCES + 3; i++) sent.add(`n${i}`, `v${i}`);
    expect(sent.versionOf(`n${REMEMBERED_NONCES + 3}`)).toBe(`v${REMEMBERED_NONCES + 3}`);
    expect(sent.versionOf('n4')).toBe('v4');
    expect(sent.versionOf('n3')).toBeUndefined();
    expect(sent.versionOf('never')).toBeUndefined();
  });
});
