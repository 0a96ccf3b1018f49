import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A port that was free a moment ago (for listeners Envoy opens from LDS, which cannot take port 0). */
export function freePort(): Promise<number> {
  return listenOn(0).then((port) => port ?? Promise.reject(new Error('no free port')));
}

/**
 * A free port the kernel never hands out by itself: below its ephemeral range, where no outgoing
 * connection or port-0 listener lands. For a server stopped and started again on the same port (etcd
 * in the outage tests): a port from freePort() can be taken by another test's connection while it is down.
 * Fixed ports in this repository are all below STABLE_FROM.
 */
export async function stablePort(): Promise<number> {
  const upTo = Math.min(STABLE_TO, ephemeralStart() - 1);
  for (let i = 0; i < 100; i++) {
    const candidate = STABLE_FROM + Math.floor(Math.random() * (upTo - STABLE_FROM + 1));
    if ((await listenOn(candidate).catch(() => undefined)) === candidate) return candidate;
  }
  return freePort();
}

const STABLE_FROM = 24_000;
const STABLE_TO = 31_999;

/** The first port of Linux's ephemeral range (32768 where it cannot be read). */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > STABLE_FROM ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/** Listens on port (0: any) on loopback, closes, and resolves to the port it got. */
function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const addr = s.address();
      const got = typeof addr === 'object' && addr ? addr.port : undefined;
      s.close(() => resolve(got));
    });
  });
}
