// The in-house endpoints in force: the static ones from the config merged with what the endpoint
// sources discovered. One merge, used by the resource builders, the controller inputs and the read model.
import type { InHouseEndpoint } from '../config/config-types.js';
import { endpointKey } from './cordons.js';

/**
 * Union by endpointKey; the first occurrence wins (static endpoints first, then sources in config
 * order), so an address listed twice keeps the capacity it was given first.
 */
export function mergeEndpoints(...lists: ReadonlyArray<readonly InHouseEndpoint[]>): InHouseEndpoint[] {
  const byKey = new Map<string, InHouseEndpoint>();
  for (const list of lists) {
    for (const e of list) {
      const key = endpointKey(e.address, e.port);
      if (!byKey.has(key)) byKey.set(key, e);
    }
  }
  return [...byKey.values()];
}
