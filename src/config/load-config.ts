import { readFileSync } from 'node:fs';
import type { SpillwayConfig } from './config-types.js';
import { DEFAULT_CONFIG_YAML } from './default-config.js';
import { ConfigError, parseConfigText } from './parse-config.js';

/** Reads and validates the config file (or the built-in defaults); throws ConfigError naming every problem. */
export function loadConfig(path?: string): SpillwayConfig {
  let text = DEFAULT_CONFIG_YAML;
  let source = 'built-in defaults';
  if (path) {
    source = path;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError([`${path}: cannot read config file (${code})`]);
    }
  }
  const result = parseConfigText(text, source, process.env);
  if (!result.ok) throw new ConfigError(result.errors);
  return result.config;
}
