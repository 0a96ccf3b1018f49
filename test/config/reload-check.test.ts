import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { changesNeedingRestart } from '../../src/config/reload-check.js';

describe('SIGHUP reload check', () => {
  const base = loadConfig();
  const svc = base.services[0]!;

  it('allows what only changes resources: endpoints, routes, listeners, static share, CA bundle', () => {
    const next = {
      ...base,
      services: [
        {
          ...svc,
          inHouse: [...svc.inHouse, { address: '127.0.0.1', port: 18104, capacity: 8 }],
          route: { ...svc.route, timeoutMs: 60_000 },
          listener: { ...svc.listener, port: 10001 },
          modal: { ...svc.modal!, staticShare: 0.2, caBundle: '/etc/ssl/other.pem' },
        },
        { ...svc, name: 'plain', listener: { host: '127.0.0.1', port: 10002 }, modal: undefined, capacity: undefined },
      ],
    };
    expect(changesNeedingRestart(base, next)).toEqual([]);
  });

  it('names every change that needs a restart', () => {
    const next = {
      ...base,
      lrs: { intervalMs: 500 },
      services: [
        { ...svc, modal: { ...svc.modal!, function: 'other' }, capacity: { ...svc.capacity!, policy: 'seed' as const } },
        { ...svc, name: 'more', listener: { host: '127.0.0.1', port: 10003 } },
      ],
    };
    expect(changesNeedingRestart(base, next)).toEqual([
      'lrs: changed (takes effect on restart)',
      'services.echo.modal: url, app, function, environment, limits, rate limit, price or connect_address changed (takes effect on restart)',
      'services.echo.capacity: changed (takes effect on restart)',
      'services.more: a new service with a Modal endpoint needs a restart',
    ]);
  });
});
