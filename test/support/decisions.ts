import type { Decision } from '../../src/capacity/types.js';

/**
 * Spilling with room: Modal takes the whole excess. The first decisions of a cold tier also say
 * "spilling" while Modal caps the take and an excess under the drop's dead band is neither spilled
 * nor shed yet; a window measured from one of those sees that excess fail.
 */
export function spillingWithRoom(d: Decision | undefined): boolean {
  return d?.mode === 'spilling' && !/capped by Modal/.test(d.reason);
}
