import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/**
 * Paths pino blanks out wherever they appear. Secrets are also kept out of log calls at the source;
 * this is the second fence.
 */
const REDACT_PATHS = [
  'token',
  '*.token',
  'tokenId',
  '*.tokenId',
  'tokenSecret',
  '*.tokenSecret',
  'adminToken',
  '*.adminToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'modal.token_id',
  'modal.token_secret',
  '*.token_id',
  '*.token_secret',
  'password',
  '*.password',
];

export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const options = {
    level: opts.level ?? process.env['SPILLWAY_LOG_LEVEL'] ?? 'info',
    base: { name: 'spillway' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return opts.destination ? pino(options, opts.destination as pino.DestinationStream) : pino(options);
}

/** A logger that writes nothing: the default for library code under test. */
export const silentLogger: Logger = pino({ level: 'silent' });
