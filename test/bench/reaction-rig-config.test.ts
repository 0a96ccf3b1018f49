import { describe, expect, it } from 'vitest';
import { LRS_REACTION_RIG } from '../../bench/reaction/run-lrs-reaction.js';
import { REACTION_RIG } from '../../bench/reaction/run-reaction.js';
import { parseConfigObject } from '../../src/config/parse-config.js';

// The reaction benches only run by hand; their capacity mappings must still be what the config
// accepts, or `npm run bench:reaction` dies at start-up (as it did when hold_ms was removed).
describe('reaction bench rigs', () => {
  it.each([
    ['modal input', REACTION_RIG.capacity],
    ['lrs input', LRS_REACTION_RIG.capacity],
  ])('the %s rig capacity block is a valid capacity config', (_name, capacity) => {
    const r = parseConfigObject({
      services: [
        {
          name: 'echo',
          listener: '127.0.0.1:10000',
          in_house: { endpoints: [{ address: '127.0.0.1', port: 8080, capacity: 4 }] },
          modal: { url: 'https://a--echo.modal.run', app: 'a', function: 'echo', max_containers: 10 },
          capacity,
        },
      ],
    });
    expect(r.ok ? [] : r.errors).toEqual([]);
  });
});
