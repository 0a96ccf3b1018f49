// Request and response bodies as streams, for the in-house backend and the fake Modal alike: an
// upload is counted as it arrives (never held in memory), a download of any size is written with
// backpressure. Big-body tests through Envoy rely on both ends streaming.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface ReceivedBody {
  bytes: number;
  /** False when the client went away before the body ended. */
  complete: boolean;
}

/** Counts the request body as it streams in; resolves when it ends or the client leaves. */
export function countBody(req: IncomingMessage): Promise<ReceivedBody> {
  return new Promise((resolve) => {
    let bytes = 0;
    let settled = false;
    const settle = (complete: boolean): void => {
      if (settled) return;
      settled = true;
      resolve({ bytes, complete });
    };
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => settle(true));
    req.on('close', () => settle(req.complete));
    req.on('error', () => settle(false));
  });
}

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/**
 * Writes `bytes` bytes of body and ends the response, waiting for 'drain' whenever the socket's
 * buffer is full. Resolves false when the client went away first.
 */
export async function streamBytes(res: ServerResponse, bytes: number): Promise<boolean> {
  let left = bytes;
  while (left > 0) {
    if (res.destroyed) return false;
    const n = Math.min(left, CHUNK.length);
    left -= n;
    if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
      const ok = await new Promise<boolean>((resolve) => {
        const onDrain = (): void => {
          res.off('close', onClose);
          resolve(true);
        };
        const onClose = (): void => {
          res.off('drain', onDrain);
          resolve(false);
        };
        res.once('drain', onDrain);
        res.once('close', onClose);
      });
      if (!ok) return false;
    }
  }
  res.end();
  return true;
}

/** The `?bytes=N` a request asks to download; undefined when it asks for none. */
export function requestedBytes(url: URL): number | undefined {
  const v = url.searchParams.get('bytes');
  if (v === null) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
