// The load generator only points at test targets: loopback, `localhost`, a single-label name (a
// docker-compose service such as `envoy`), or a host the caller lists explicitly. It is a test tool,
// and an open-loop generator aimed at a real service is a denial of service.
import { isIP } from 'node:net';

export function assertTestTarget(url: URL, allowHosts: readonly string[] = []): void {
  if (url.protocol !== 'http:') throw new Error(`only http:// targets are supported, got ${url.protocol}`);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (allowHosts.map((h) => h.toLowerCase()).includes(host)) return;
  if (host === 'localhost' || host.endsWith('.localhost')) return;
  if (isIP(host) === 4 && host.startsWith('127.')) return;
  if (isIP(host) === 6 && (host === '::1' || host.startsWith('::ffff:127.'))) return;
  if (isIP(host) === 0 && !host.includes('.')) return;
  throw new Error(
    `refusing to load ${host}: not loopback, localhost or a single-label (compose) name; pass it in allowHosts / --allow-host if it is a test target`,
  );
}
