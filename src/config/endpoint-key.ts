// The one spelling of an endpoint as text: "address:port", an IPv6 address in brackets. Cordons,
// admin calls, LRS per-endpoint stats and discovery all key endpoints by it.
import { isIP } from 'node:net';

export const endpointKey = (address: string, port: number): string => (isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`);

export const endpointKeyOf = (e: { address: string; port: number }): string => endpointKey(e.address, e.port);

/** Parses "ip:port" or "[ipv6]:port"; undefined unless the address is an IP and the port 1–65535. */
export function parseEndpointKey(text: string): { address: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const address = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (isIP(address) === 0 || port < 1 || port > 65535) return undefined;
  if (m[1] !== undefined && isIP(address) !== 6) return undefined;
  return { address, port };
}
