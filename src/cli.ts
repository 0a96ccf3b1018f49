#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startSpillway } from './app/spillway-app.js';
import { loadConfig } from './config/load-config.js';
import { changesNeedingRestart } from './config/reload-check.js';
import { ConfigError } from './config/parse-config.js';
import { errorMessage } from './core/errors.js';
import { createLogger } from './core/logger.js';
import { runWatch } from './cli/watch.js';

const HELP = `spillway — Envoy xDS control plane: in-house first, overflow to Modal

Usage:
  spillway serve [--config FILE]      serve ADS (and LRS, admin) until SIGTERM/SIGINT; SIGHUP reloads FILE
  spillway validate --config FILE     check a config file; prints every problem and exits 1 if any
  spillway watch [--admin HOST:PORT] [--service NAME] [--plain]
                 [--tls-ca FILE [--tls-cert FILE --tls-key FILE] [--tls-server-name NAME]]
                                      live view of shares, weights, mode and reason per service, from
                                      the admin API (default 127.0.0.1:18081); --plain (automatic when
                                      stdout is not a terminal) prints one line per service per update;
                                      --tls-* reach an admin port with admin.tls (mutual with a client
                                      certificate); the read token comes from SPILLWAY_ADMIN_READ_TOKEN
                                      (or SPILLWAY_ADMIN_TOKEN)
  spillway --help                     this text

With no --config, serve uses the built-in local demo topology.
Environment: SPILLWAY_LOG_LEVEL (debug|info|warn|error), MODAL_TOKEN_ID / MODAL_TOKEN_SECRET, MODAL_SERVER_URL.
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
      admin: { type: 'string' },
      service: { type: 'string' },
      plain: { type: 'boolean' },
      'tls-ca': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-server-name': { type: 'string' },
    },
    allowPositionals: true,
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  if (command === 'validate') {
    if (!values.config) {
      process.stderr.write('spillway validate: --config FILE is required\n');
      return 2;
    }
    try {
      const cfg = loadConfig(values.config);
      process.stdout.write(
        `${values.config}: valid (${cfg.services.length} service${cfg.services.length === 1 ? '' : 's'}: ${cfg.services.map((s) => s.name).join(', ')})\n`,
      );
      return 0;
    } catch (err) {
      process.stderr.write(`${errorMessage(err)}\n`);
      return 1;
    }
  }
  if (command === 'watch') {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined) || (values['tls-cert'] && !values['tls-ca'])) {
      process.stderr.write('spillway watch: --tls-cert and --tls-key go together, and need --tls-ca\n');
      return 2;
    }
    const token = process.env['SPILLWAY_ADMIN_READ_TOKEN'] || process.env['SPILLWAY_ADMIN_TOKEN'];
    return runWatch({
      admin: values.admin ?? '127.0.0.1:18081',
      ...(values['tls-ca']
        ? {
            tls: {
              caFile: values['tls-ca'],
              ...(values['tls-cert'] && values['tls-key'] ? { certFile: values['tls-cert'], keyFile: values['tls-key'] } : {}),
              ...(values['tls-server-name'] ? { serverName: values['tls-server-name'] } : {}),
            },
          }
        : {}),
      ...(token ? { token } : {}),
      plain: values.plain === true || !process.stdout.isTTY,
      ...(values.service ? { service: values.service } : {}),
      out: process.stdout,
      signal: stop.signal,
    });
  }
  if (command === 'serve') {
    const logger = createLogger();
    const config = loadConfig(values.config);
    const app = await startSpillway(config, { logger });
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        logger.info({ component: 'app', signal }, 'shutting down');
        void app.stop().then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      let active = config;
      process.on('SIGHUP', () => {
        if (!values.config) return;
        try {
          const next = loadConfig(values.config);
          const needRestart = changesNeedingRestart(active, next);
          if (needRestart.length > 0) {
            logger.error(
              { component: 'app', problems: needRestart },
              'reload refused: these changes need a restart; the last good configuration keeps serving',
            );
            return;
          }
          const r = app.publisher.setServices(next.services);
          if (r.ok) {
            active = next;
            logger.info({ component: 'app' }, 'configuration reloaded');
          }
        } catch (err) {
          logger.error({ component: 'app', error: errorMessage(err) }, 'reload refused; the last good configuration keeps serving');
        }
      });
    });
    return 0;
  }
  process.stderr.write(`spillway: unknown command "${command}"\n\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`spillway: ${err instanceof ConfigError ? err.message : errorMessage(err)}\n`);
    process.exit(1);
  },
);
