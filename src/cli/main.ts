import { parseArgs } from 'node:util';
import { startSpillway } from '../app/spillway-app.js';
import { loadConfig } from '../config/load-config.js';
import { changesNeedingRestart } from '../config/reload-check.js';
import { ConfigError } from '../config/parse-config.js';
import { errorMessage } from '../core/errors.js';
import { releaseYoungGeneration } from '../core/start-up-heap.js';
import { createLogger } from '../core/logger.js';
import { callUnary, connectAdmin } from './admin-client.js';
import { runAdminCommand } from './admin-verbs.js';
import { CONNECTION_OPTIONS, isAdminVerb, parseAdminCommand, parseConnection } from './args.js';
import { bashCompletion } from './completion.js';
import { ExitCode } from './exit-codes.js';
import { runWatch } from './watch.js';
import { systemClock } from '../core/clock.js';
import type { State__Output } from '../generated/spillway/admin/v1/State.js';

const HELP = `spillway — Envoy xDS control plane: in-house first, overflow to Modal

Usage:
  spillway serve [--config FILE]      serve ADS (and LRS, admin) until SIGTERM/SIGINT; SIGHUP reloads FILE
  spillway validate --config FILE [--output json]
                                      check a config file; prints every problem and exits 1 if any
  spillway watch [--service NAME] [--plain] [--output json]
                                      live view of shares, weights, mode and reason per service; --plain
                                      (automatic when stdout is not a terminal) prints one line per service
                                      per update, --output json one State per line
  spillway status [--node ID] [--output json]
                                      one line per connected Envoy: per-type sync status and version, last
                                      ACK and NACK; --node ID for one Envoy's detail with its resources (CSDS)
  spillway cordon SERVICE ENDPOINT --reason TEXT        in-house ENDPOINT takes no new requests (DRAINING)
  spillway soft-cordon SERVICE ENDPOINT --reason TEXT   used only when the rest cannot serve (DEGRADED)
  spillway uncordon SERVICE ENDPOINT [--reason TEXT]    back to HEALTHY
  spillway override SERVICE --share 0.3|30% --for 15m --reason TEXT
                                      pin the Modal share for a while (at most 24h)
  spillway clear-override SERVICE [--reason TEXT]
  spillway completion bash            shell completion (zsh: autoload -U +X bashcompinit && bashcompinit)
  spillway --help                     this text

Admin verbs (watch, status and the ones that change something) talk to the admin port:
  --admin HOST:PORT     default $SPILLWAY_ADMIN, else 127.0.0.1:18081
  --token-env NAME      environment variable holding the bearer token (default SPILLWAY_ADMIN_TOKEN;
                        watch and status fall back on SPILLWAY_ADMIN_READ_TOKEN)
  --tls-ca FILE [--tls-cert FILE --tls-key FILE] [--tls-server-name NAME]
                        an admin port with admin.tls (mutual with a client certificate)
  --output table|json   -o; JSON for scripts

Exit codes: 0 done · 1 failed · 2 bad command line (nothing sent) · 3 refused by Spillway (unknown
service, endpoint or node; a value it cannot take) · 4 missing or wrong token · 5 admin port unreachable.

With no --config, serve uses the built-in local demo topology.
Environment: SPILLWAY_LOG_LEVEL (debug|info|warn|error), SPILLWAY_ADMIN, SPILLWAY_ADMIN_TOKEN, SPILLWAY_ADMIN_READ_TOKEN,
MODAL_TOKEN_ID / MODAL_TOKEN_SECRET, MODAL_SERVER_URL.
`;

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  const rest = argv.slice(1);
  // Only `serve` has a start-up worth holding the young generation through (core/start-up-heap.ts).
  if (command !== 'serve') releaseYoungGeneration();
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(HELP);
    return ExitCode.Ok;
  }
  if (isAdminVerb(command)) {
    const parsed = parseAdminCommand(command, rest, process.env);
    if (!parsed.ok) return usageError(command, parsed.error);
    return runAdminCommand(parsed.value, {
      out: (t) => void process.stdout.write(t),
      err: (t) => void process.stderr.write(t),
      nowMs: () => systemClock.nowMs(),
    });
  }
  if (command === 'completion') {
    if (rest[0] !== 'bash' || rest.length > 1)
      return usageError('completion', 'expected "bash" (zsh: load bashcompinit, then use the bash script)');
    process.stdout.write(bashCompletion());
    return ExitCode.Ok;
  }
  if (command === '__complete') return complete(rest);
  const known = { serve: true, validate: true, watch: true } as const;
  if (!(command in known)) return usageError(command, `unknown command (see spillway --help)`);
  let values: { config?: string; service?: string; plain?: boolean; output?: string } & Record<string, unknown>;
  try {
    const options = {
      serve: { config: { type: 'string', short: 'c' } },
      validate: { config: { type: 'string', short: 'c' }, output: { type: 'string', short: 'o' } },
      watch: {
        ...CONNECTION_OPTIONS,
        service: { type: 'string' },
        plain: { type: 'boolean' },
        output: { type: 'string', short: 'o' },
      },
    } as const;
    const r = parseArgs({ args: rest, options: options[command as keyof typeof known], allowPositionals: false, strict: true });
    values = r.values as typeof values;
  } catch (err) {
    return usageError(command, errorMessage(err));
  }
  if (values.output !== undefined && values.output !== 'table' && values.output !== 'json')
    return usageError(command, `--output: expected "table" or "json", got "${values.output}"`);
  if (command === 'validate') {
    if (!values.config) return usageError('validate', '--config FILE is required');
    const json = values.output === 'json';
    try {
      const cfg = loadConfig(values.config);
      const names = cfg.services.map((s) => s.name);
      process.stdout.write(
        json
          ? `${JSON.stringify({ file: values.config, valid: true, services: names })}\n`
          : `${values.config}: valid (${names.length} service${names.length === 1 ? '' : 's'}: ${names.join(', ')})\n`,
      );
      return ExitCode.Ok;
    } catch (err) {
      if (json) process.stdout.write(`${JSON.stringify({ file: values.config, valid: false, errors: errorMessage(err).split('\n') })}\n`);
      else process.stderr.write(`${errorMessage(err)}\n`);
      return ExitCode.Failed;
    }
  }
  if (command === 'watch') {
    const connection = parseConnection(values, process.env, true);
    if (!connection.ok) return usageError('watch', connection.error);
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    return runWatch({
      ...connection.value,
      plain: values.plain === true || !process.stdout.isTTY,
      json: values.output === 'json',
      ...(values.service ? { service: values.service } : {}),
      out: process.stdout,
      signal: stop.signal,
    });
  }
  if (command === 'serve') {
    const logger = createLogger();
    const config = loadConfig(values.config);
    // A stop signal during start-up (Envoys may already be connected: xDS binds first) is honoured
    // once start-up is done, not left to Node's default of dying mid-write.
    let stopSignal: string | undefined;
    let onStop: ((signal: string) => void) | undefined;
    const stopRequested = (signal: string): void => {
      stopSignal ??= signal;
      onStop?.(signal);
    };
    process.once('SIGTERM', () => stopRequested('SIGTERM'));
    process.once('SIGINT', () => stopRequested('SIGINT'));
    // A reload asked for during start-up is refused (logged) rather than killing the process.
    let onReload: () => void = () =>
      logger.warn({ component: 'app' }, 'SIGHUP during start-up ignored: send it again once Spillway serves');
    process.on('SIGHUP', () => onReload());
    const app = await startSpillway(config, { logger });
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        logger.info({ component: 'app', signal }, 'shutting down');
        void app.stop().then(resolve);
      };
      onStop = stop;
      if (stopSignal) stop(stopSignal);
      let active = config;
      onReload = () => {
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
      };
    });
    return 0;
  }
  return usageError(command, 'unknown command (see spillway --help)');
}

function usageError(verb: string, message: string): number {
  process.stderr.write(`spillway ${verb}: ${message}\n`);
  return ExitCode.Usage;
}

/** `spillway __complete services|nodes|endpoints SERVICE`: names for shell completion; silent on any failure. */
async function complete(args: string[]): Promise<number> {
  const parsed = parseAdminCommand('status', [], process.env);
  if (!parsed.ok) return ExitCode.Ok;
  const conn = connectAdmin(parsed.value.target);
  try {
    const r = await callUnary(conn.admin.GetState.bind(conn.admin), {}, parsed.value.target.token, 1_000);
    if (!r.ok) return ExitCode.Ok;
    const state = r.res as State__Output;
    const names =
      args[0] === 'services'
        ? state.services.map((s) => s.name)
        : args[0] === 'nodes'
          ? state.envoys.map((e) => e.node_id)
          : args[0] === 'endpoints'
            ? (state.services.find((s) => s.name === args[1])?.in_house.map((e) => e.endpoint) ?? [])
            : [];
    process.stdout.write(names.map((n) => `${n}\n`).join(''));
    return ExitCode.Ok;
  } finally {
    conn.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`spillway: ${err instanceof ConfigError ? err.message : errorMessage(err)}\n`);
    process.exit(1);
  },
);
