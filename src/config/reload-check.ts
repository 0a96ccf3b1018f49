import { isDeepStrictEqual } from 'node:util';
import type { ModalEndpointConfig, SpillwayConfig } from './config-types.js';

/**
 * What a SIGHUP reload cannot apply to a running Spillway, as field paths with the reason. Live:
 * listeners, routes, static in-house endpoints and their health checks, services without Modal or
 * endpoint sources, and a Modal endpoint's static share, CA bundle, 429 retry and HTTP/2 (they only
 * change resources). Anything that started a server, a poller, a DNS
 * watcher or a controller needs a restart; a reload that touches it is refused whole.
 */
export function changesNeedingRestart(current: SpillwayConfig, next: SpillwayConfig): string[] {
  const problems: string[] = [];
  const sections = ['xds', 'lrs', 'admin', 'metrics', 'controller', 'modalApi', 'discovery', 'state', 'ha'] as const;
  const yamlName: Record<(typeof sections)[number], string> = {
    xds: 'xds',
    lrs: 'lrs',
    admin: 'admin',
    metrics: 'metrics',
    controller: 'controller',
    modalApi: 'modal_api',
    discovery: 'discovery',
    state: 'state',
    ha: 'ha',
  };
  for (const s of sections) {
    if (!isDeepStrictEqual(current[s], next[s])) problems.push(`${yamlName[s]}: changed (takes effect on restart)`);
  }
  const before = new Map(current.services.map((s) => [s.name, s]));
  const after = new Map(next.services.map((s) => [s.name, s]));
  for (const [name, svc] of after) {
    const old = before.get(name);
    if (!old) {
      if (svc.modal) problems.push(`services.${name}: a new service with a Modal endpoint needs a restart`);
      if (svc.inHouseSources.length > 0) problems.push(`services.${name}: a new service with endpoint sources needs a restart`);
      continue;
    }
    if (!isDeepStrictEqual(restartBound(old.modal), restartBound(svc.modal))) {
      problems.push(
        `services.${name}.modal: url, app, function, environment, limits, rate limit, price or connect_address changed (takes effect on restart)`,
      );
    }
    if (!isDeepStrictEqual(old.capacity, svc.capacity)) problems.push(`services.${name}.capacity: changed (takes effect on restart)`);
    if (!isDeepStrictEqual(old.inHouseSources, svc.inHouseSources) || old.inHouseDefaultCapacity !== svc.inHouseDefaultCapacity) {
      problems.push(`services.${name}.in_house: dns, srv, files or capacity changed (the sources restart with Spillway)`);
    }
  }
  for (const [name, svc] of before) {
    if (!after.has(name) && svc.modal) problems.push(`services.${name}: removing a service with a Modal endpoint needs a restart`);
    if (!after.has(name) && svc.inHouseSources.length > 0)
      problems.push(`services.${name}: removing a service with endpoint sources needs a restart`);
  }
  return problems;
}

/** The Modal fields that something long-lived (DNS watcher, poller, controller) was started from. */
function restartBound(
  m: ModalEndpointConfig | undefined,
): Omit<ModalEndpointConfig, 'staticShare' | 'caBundle' | 'retry429InHouse' | 'http2'> | undefined {
  if (!m) return undefined;
  const { staticShare: _share, caBundle: _ca, retry429InHouse: _retry, http2: _h2, ...rest } = m;
  return rest;
}
