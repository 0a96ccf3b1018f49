// Config fixtures every test and benchmark builds on: servers on free loopback ports, and a parse
// that fails loudly (a fixture that does not validate is a bug in the test, not a case to handle).
import type { SpillwayConfig } from '../src/config/config-types.js';
import { parseConfigObject } from '../src/config/parse-config.js';

/** xDS, admin and metrics on free loopback ports. */
export const FREE_PORTS = {
  xds: { listen: '127.0.0.1:0' },
  admin: { listen: '127.0.0.1:0' },
  metrics: { listen: '127.0.0.1:0' },
} as const;

/** The validated config of a raw (YAML-shaped) tree; throws with every problem. */
export function configFrom(raw: unknown, env: NodeJS.ProcessEnv = {}): SpillwayConfig {
  const r = parseConfigObject(raw, env);
  if (!r.ok) throw new Error(`test config does not validate:\n${r.errors.join('\n')}`);
  return r.config;
}
