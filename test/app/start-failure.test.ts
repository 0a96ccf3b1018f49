import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startSpillway } from '../../src/app/spillway-app.js';
import { configFrom } from '../../tools/config-fixtures.js';
import type { ModalApi } from '../../src/modal/types.js';
import { VirtualTime } from '../support/virtual-time.js';

/** A Modal that answers every lookup: enough for start-up to get as far as binding the xDS port. */
const stubModal: ModalApi = {
  lookup: async (ref) => ({
    ref,
    functionId: 'fu-stub',
    currentStats: async () => ({ backlog: 0, numTotalRunners: 0 }),
    updateAutoscaler: async (s) => s,
  }),
  close: () => {},
};

describe('a failed start-up', () => {
  it('reports why and leaves no poller, controller or timer running', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    const config = configFrom({
      xds: { listen: `127.0.0.1:${port}` },
      admin: { listen: '127.0.0.1:0' },
      metrics: { listen: '127.0.0.1:0' },
      services: [
        {
          name: 'echo',
          listener: '127.0.0.1:20001',
          in_house: { endpoints: [{ address: '10.0.0.1', port: 80, capacity: 4 }] },
          modal: { url: 'https://ws--echo.modal.run', connect_address: '192.0.2.1', app: 'a', function: 'f', max_containers: 2 },
        },
      ],
    });
    const time = new VirtualTime();
    try {
      await expect(startSpillway(config, { clock: time, scheduler: time, modalApi: stubModal })).rejects.toThrow(
        new RegExp(`cannot listen on 127.0.0.1:${port}`),
      );
      await time.advance(60_000);
      expect(time.pending()).toBe(0);
    } finally {
      taken.close();
    }
  });
});
