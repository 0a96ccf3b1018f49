// `spillway watch`: follows WatchWeights and redraws in place (ANSI) on a terminal, or writes one
// line per service per update when output is not a terminal (or with --plain). Reconnects with a
// short backoff if the admin port goes away.
import * as grpc from '@grpc/grpc-js';
import { loadAdminProtos } from '../admin/admin-protos.js';
import type { State__Output } from '../generated/spillway/admin/v1/State.js';
import { bearerMetadata, credentialsFor } from './admin-client.js';
import type { AdminTls } from './args.js';
import { exitCodeFor } from './exit-codes.js';
import { renderPlain, renderState } from './render-watch.js';

export interface WatchOptions {
  admin: string;
  plain: boolean;
  /** One JSON State per line (for jq and scripts); implies no redraw. */
  json?: boolean;
  /** Bearer token sent with the call (reads need one when Spillway has a read token). */
  token?: string | undefined;
  service?: string;
  out: NodeJS.WriteStream | (NodeJS.WritableStream & { columns?: number; isTTY?: boolean });
  /** Stops watching (SIGINT in the CLI). */
  signal: AbortSignal;
  /** An admin port with admin.tls (see AdminTls). */
  tls?: AdminTls | undefined;
}

const CLEAR_HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_SCREEN_END = '\x1b[J';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

export async function runWatch(opts: WatchOptions): Promise<number> {
  const { protos } = loadAdminProtos();
  const { credentials, options } = credentialsFor(opts.tls);
  const client = new protos.spillway.admin.v1.Admin(opts.admin, credentials, options);
  const tty = !opts.plain && !opts.json;
  const write = (s: string): void => void opts.out.write(s);
  const draw = (lines: string[]): void => {
    if (tty) write(CLEAR_HOME + lines.map((l) => l + CLEAR_LINE_END).join('\n') + '\n' + CLEAR_SCREEN_END);
    else for (const l of lines) write(l + '\n');
  };
  if (tty) write(HIDE_CURSOR + '\x1b[2J');
  let backoffMs = 500;
  try {
    while (!opts.signal.aborted) {
      const outcome = await new Promise<{ error?: string; code?: grpc.status }>((resolve) => {
        const call = client.WatchWeights({ service: opts.service ?? '' }, bearerMetadata(opts.token));
        const abort = (): void => call.cancel();
        opts.signal.addEventListener('abort', abort, { once: true });
        call.on('data', (state: State__Output) => {
          backoffMs = 500;
          if (opts.json) write(`${JSON.stringify(state)}\n`);
          else draw(tty ? renderState(state, { width: opts.out.columns ?? 100, admin: opts.admin, color: true }) : renderPlain(state));
        });
        call.on('error', (err: grpc.ServiceError) => {
          opts.signal.removeEventListener('abort', abort);
          resolve(err.code === grpc.status.CANCELLED ? {} : { error: err.details || err.message, code: err.code });
        });
        call.on('end', () => {
          opts.signal.removeEventListener('abort', abort);
          resolve({ error: 'stream ended' });
        });
      });
      if (opts.signal.aborted) break;
      // A bad argument (unknown service) or a refused token will not get better by retrying.
      if (outcome.code === grpc.status.INVALID_ARGUMENT || outcome.code === grpc.status.UNAUTHENTICATED) {
        process.stderr.write(`spillway watch: ${outcome.error}\n`);
        return exitCodeFor(outcome.code);
      }
      const note = `spillway watch: ${opts.admin}: ${outcome.error ?? 'disconnected'}; retrying in ${(backoffMs / 1000).toFixed(1)}s`;
      if (tty) draw([note]);
      else process.stderr.write(note + '\n');
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoffMs);
        opts.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            r();
          },
          { once: true },
        );
      });
      backoffMs = Math.min(5_000, backoffMs * 2);
    }
    return 0;
  } finally {
    if (tty) write(SHOW_CURSOR);
    client.close();
  }
}
