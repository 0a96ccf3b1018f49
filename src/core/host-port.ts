/** An address to listen on or connect to: an IP (or loopback name) and a port (0 picks a free one). */
export interface HostPort {
  host: string;
  port: number;
}
