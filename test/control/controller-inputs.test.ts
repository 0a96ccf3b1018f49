import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse-config.js';
import { DEFAULT_CONFIG_YAML } from '../../src/config/default-config.js';
import { controllerInputsFor } from '../../src/control/controller-inputs.js';
import type { LoadView } from '../../src/lrs/load-view.js';

/** The demo service with its route's timeout and retry per-try timeout set as given. */
function inputsWithRoute(route: string) {
  const text = DEFAULT_CONFIG_YAML.replace(/ {4}route:\n( {6}.*\n)+/, `    route:\n${route}`);
  const parsed = parseConfigText(text);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const service = parsed.config.services[0]!;
  const noLoad = { service: () => undefined } as unknown as LoadView;
  return controllerInputsFor(service, { load: noLoad, modalStatus: () => undefined, cordons: () => new Map() })!;
}

describe('controller inputs: how long Envoy lets a request wait', () => {
  it('is the shortest of the route timeout, a retry attempt timeout and the idle timeout (a queued request moves no bytes)', () => {
    expect(inputsWithRoute('      timeout_ms: 0\n      idle_timeout_ms: 6000\n').requestDeadlineMs).toBe(6000);
    expect(inputsWithRoute('      timeout_ms: 9000\n').requestDeadlineMs).toBe(9000);
    expect(inputsWithRoute('      timeout_ms: 9000\n      retry: { per_try_timeout_ms: 4000 }\n').requestDeadlineMs).toBe(4000);
    expect(inputsWithRoute('      timeout_ms: 0\n      retry: { per_try_timeout_ms: 4000 }\n').requestDeadlineMs).toBe(4000);
  });

  it('is 0 (no limit) when none is set: a timeout of 0 disables it in Envoy', () => {
    expect(inputsWithRoute('      timeout_ms: 0\n      idle_timeout_ms: 0\n').requestDeadlineMs).toBe(0);
  });
});
