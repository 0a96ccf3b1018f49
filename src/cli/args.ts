// The command line of the admin verbs, parsed without side effects: a typed command, or a usage
// error that names the argument to fix. Nothing is sent to Spillway before this has passed.
import { parseArgs } from 'node:util';
import { MAX_OVERRIDE_MS } from '../control/override-store.js';

export const DEFAULT_ADMIN = '127.0.0.1:18081';
export const DEFAULT_TOKEN_ENV = 'SPILLWAY_ADMIN_TOKEN';
/** Read by the read-only verbs (watch, status) when the admin token is not set. */
export const READ_TOKEN_ENV = 'SPILLWAY_ADMIN_READ_TOKEN';

export type Output = 'table' | 'json';

/** An admin port with admin.tls: the CA its certificate is checked against, and this client's certificate for mutual TLS. */
export interface AdminTls {
  caFile: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
}

export interface AdminTarget {
  admin: string;
  /** The bearer token, read from the environment variable named by --token-env; undefined when unset. */
  token: string | undefined;
  output: Output;
  tls?: AdminTls;
}

export type CordonVerb = 'cordon' | 'soft-cordon' | 'uncordon';

export type AdminCommand =
  | { verb: 'status'; target: AdminTarget; node: string | undefined }
  | { verb: CordonVerb; target: AdminTarget; service: string; endpoint: string; reason: string }
  | { verb: 'override'; target: AdminTarget; service: string; share: number; durationMs: number; reason: string }
  | { verb: 'clear-override'; target: AdminTarget; service: string; reason: string };

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const usage = <T>(error: string): Parsed<T> => ({ ok: false, error });

/** `15m`, `90s`, `1h30m`, `500ms`: a positive duration with units, in milliseconds. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(t)) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  let ms = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * unit[m[2] as keyof typeof unit];
  return ms >= 1 ? Math.round(ms) : undefined;
}

/** `0.3` or `30%`: a Modal share between 0 and 1. */
export function parseShare(text: string): number | undefined {
  const t = text.trim();
  const pct = t.endsWith('%');
  const body = pct ? t.slice(0, -1) : t;
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(body)) return undefined;
  const v = Number(body) / (pct ? 100 : 1);
  return v >= 0 && v <= 1 ? v : undefined;
}

/** `address:port` of an in-house endpoint (the key Spillway's admin API takes). */
function endpointError(text: string): string | undefined {
  const m = /^(.+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) return `ENDPOINT: expected ADDRESS:PORT (e.g. 10.0.0.11:8080), got "${text}"`;
  return undefined;
}

/** How to reach the admin port; watch takes these too. */
export const CONNECTION_OPTIONS = {
  admin: { type: 'string' },
  'token-env': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-server-name': { type: 'string' },
} as const;

const COMMON = { ...CONNECTION_OPTIONS, output: { type: 'string', short: 'o' } } as const;

const VERB_OPTIONS = {
  status: { ...COMMON, node: { type: 'string' } },
  cordon: { ...COMMON, reason: { type: 'string' } },
  'soft-cordon': { ...COMMON, reason: { type: 'string' } },
  uncordon: { ...COMMON, reason: { type: 'string' } },
  override: { ...COMMON, share: { type: 'string' }, for: { type: 'string' }, reason: { type: 'string' } },
  'clear-override': { ...COMMON, reason: { type: 'string' } },
} as const;

export type AdminVerb = keyof typeof VERB_OPTIONS;
export const ADMIN_VERBS = Object.keys(VERB_OPTIONS) as AdminVerb[];
export const isAdminVerb = (s: string | undefined): s is AdminVerb => s !== undefined && s in VERB_OPTIONS;

/** The flags a verb takes (for shell completion). */
export const flagsOf = (verb: AdminVerb): string[] => Object.keys(VERB_OPTIONS[verb]).map((f) => `--${f}`);

/**
 * The admin port, token and TLS from the connection flags. A read-only verb falls back on the read
 * token (SPILLWAY_ADMIN_READ_TOKEN) when the admin token is not set and --token-env is not given.
 */
export function parseConnection(
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  readOnly: boolean,
): Parsed<Omit<AdminTarget, 'output'>> {
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const tokenEnv = str('token-env') ?? DEFAULT_TOKEN_ENV;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenEnv)) return usage(`--token-env: "${tokenEnv}" is not an environment variable name`);
  if (str('token-env') !== undefined && !env[tokenEnv]) return usage(`--token-env: environment variable ${tokenEnv} is not set`);
  const admin = str('admin') ?? env['SPILLWAY_ADMIN'] ?? DEFAULT_ADMIN;
  if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):\d{1,5}$/.test(admin)) return usage(`--admin: expected HOST:PORT, got "${admin}"`);
  const token = env[tokenEnv] || (readOnly && str('token-env') === undefined ? env[READ_TOKEN_ENV] : undefined) || undefined;
  const ca = str('tls-ca');
  const cert = str('tls-cert');
  const key = str('tls-key');
  const serverName = str('tls-server-name');
  if (!ca && (cert || key || serverName)) return usage('--tls-cert, --tls-key and --tls-server-name need --tls-ca');
  if ((cert === undefined) !== (key === undefined)) return usage('--tls-cert and --tls-key go together');
  const tls: AdminTls | undefined = ca
    ? { caFile: ca, ...(cert && key ? { certFile: cert, keyFile: key } : {}), ...(serverName ? { serverName } : {}) }
    : undefined;
  return { ok: true, value: { admin, token, ...(tls ? { tls } : {}) } };
}

/** Parses `spillway VERB ...` for the admin verbs; env is where tokens and SPILLWAY_ADMIN are read. */
export function parseAdminCommand(verb: AdminVerb, argv: readonly string[], env: NodeJS.ProcessEnv): Parsed<AdminCommand> {
  let values: Record<string, string | undefined>;
  let positionals: string[];
  try {
    const r = parseArgs({ args: [...argv], options: VERB_OPTIONS[verb], allowPositionals: true, strict: true });
    values = r.values as Record<string, string | undefined>;
    positionals = r.positionals;
  } catch (err) {
    // node:util's messages name the flag ("Unknown option '--shar'").
    return usage((err as Error).message);
  }
  const output = values['output'] ?? 'table';
  if (output !== 'table' && output !== 'json') return usage(`--output: expected "table" or "json", got "${output}"`);
  const connection = parseConnection(values, env, verb === 'status');
  if (!connection.ok) return connection;
  const target: AdminTarget = { ...connection.value, output };

  const want = (names: string[]): string | undefined => {
    if (positionals.length < names.length)
      return `missing ${names.slice(positionals.length).join(' ')} (usage: spillway ${verb} ${names.join(' ')})`;
    if (positionals.length > names.length) return `unexpected argument "${positionals[names.length]}"`;
    return undefined;
  };
  const reason = (required: boolean): Parsed<string> => {
    const r = values['reason'];
    if (r === undefined) return required ? usage(`--reason: required (say why; it is logged with the change)`) : { ok: true, value: '' };
    if (!r.trim()) return usage('--reason: must not be empty');
    return { ok: true, value: r };
  };

  switch (verb) {
    case 'status': {
      const err = want([]);
      if (err) return usage(err);
      const node = values['node'];
      if (node !== undefined && !node) return usage('--node: must not be empty');
      return { ok: true, value: { verb, target, node } };
    }
    case 'cordon':
    case 'soft-cordon':
    case 'uncordon': {
      const err = want(['SERVICE', 'ENDPOINT']);
      if (err) return usage(err);
      const [service, endpoint] = positionals as [string, string];
      const bad = endpointError(endpoint);
      if (bad) return usage(bad);
      const r = reason(verb !== 'uncordon');
      if (!r.ok) return r;
      return { ok: true, value: { verb, target, service, endpoint, reason: r.value } };
    }
    case 'override': {
      const err = want(['SERVICE']);
      if (err) return usage(err);
      const shareText = values['share'];
      if (shareText === undefined) return usage('--share: required (a Modal share between 0 and 1, or a percentage like 30%)');
      const share = parseShare(shareText);
      if (share === undefined) return usage(`--share: expected a number between 0 and 1 or a percentage like 30%, got "${shareText}"`);
      const forText = values['for'];
      if (forText === undefined) return usage('--for: required (how long the override holds, e.g. 15m; overrides always expire)');
      const durationMs = parseDuration(forText);
      if (durationMs === undefined) return usage(`--for: expected a duration with units like 90s, 15m or 1h30m, got "${forText}"`);
      if (durationMs > MAX_OVERRIDE_MS) return usage(`--for: at most 24h, got "${forText}"`);
      const r = reason(true);
      if (!r.ok) return r;
      return { ok: true, value: { verb, target, service: positionals[0]!, share, durationMs, reason: r.value } };
    }
    case 'clear-override': {
      const err = want(['SERVICE']);
      if (err) return usage(err);
      const r = reason(false);
      if (!r.ok) return r;
      return { ok: true, value: { verb, target, service: positionals[0]!, reason: r.value } };
    }
  }
}
