import { describe, expect, it } from 'vitest';
import { controllerInputsFor } from '../../src/control/controller-inputs.js';
import type { LoadView } from '../../src/lrs/load-view.js';
import { configFrom, FREE_PORTS } from '../../tools/config-fixtures.js';

/** One service with a Modal endpoint and the given route section. */
function inputsWithRoute(route: Record<string, unknown>) {
  const config = configFrom({
    ...FREE_PORTS,
    services: [
      {
        name: 'echo',
        listener: '127.0.0.1:20001',
        route,
        in_house: { endpoints: [{ address: '10.0.0.1', port: 80, capacity: 4 }] },
        modal: { url: 'https://ws--echo.modal.run', connect_address: '192.0.2.1', app: 'a', function: 'f', max_containers: 2 },
        capacity: { policy: 'default' },
      },
    ],
  });
  const noLoad = { service: () => undefined } as unknown as LoadView;
  return controllerInputsFor(config.services[0]!, { load: noLoad, modalStatus: () => undefined, cordons: () => new Map() })!;
}

describe('controller inputs: how long Envoy lets a request wait', () => {
  it('is the shortest of the route timeout, a retry attempt timeout and the idle timeout (a queued request moves no bytes)', () => {
    expect(inputsWithRoute({ timeout_ms: 0, idle_timeout_ms: 6000 }).requestDeadlineMs).toBe(6000);
    expect(inputsWithRoute({ timeout_ms: 9000 }).requestDeadlineMs).toBe(9000);
    expect(inputsWithRoute({ timeout_ms: 9000, retry: { per_try_timeout_ms: 4000 } }).requestDeadlineMs).toBe(4000);
    expect(inputsWithRoute({ timeout_ms: 0, retry: { per_try_timeout_ms: 4000 } }).requestDeadlineMs).toBe(4000);
  });

  it('is 0 (no limit) when none is set: a timeout of 0 disables it in Envoy', () => {
    expect(inputsWithRoute({ timeout_ms: 0, idle_timeout_ms: 0 }).requestDeadlineMs).toBe(0);
  });
});
