// The line protocol between the benchmark and its Spillway child: one JSON object per line,
// commands on the child's stdin, replies (with the command's id) on its stdout.

export type ChildCommand =
  | { id: number; cmd: 'stats'; gc?: boolean }
  | { id: number; cmd: 'set-share'; service: string; share: number }
  | { id: number; cmd: 'acks'; version: string }
  /**
   * Reference servers only (bench/compare): serve these encoded resources (base64) at these type
   * versions, replacing the types named; replies like set-share.
   */
  | { id: number; cmd: 'set'; types: Record<string, { version: string; resources: string[] }> }
  /** CPU profile of the push phase only (not start-up or stream sync), written to `path` on stop. */
  | { id: number; cmd: 'profile-start' }
  | { id: number; cmd: 'profile-stop'; path: string }
  | { id: number; cmd: 'exit' };

export interface ChildStats {
  cpuUserUs: number;
  cpuSystemUs: number;
  rss: number;
  heapUsed: number;
  streams: number;
  /** Totals over the child's life, from the ADS server's 'sent' events (resource payload bytes). */
  sentResponses: number;
  sentBytes: number;
}

export interface SetShareReply {
  ok: boolean;
  /** Wall clock just before the publish call and just after it returned (the synchronous fan-out). */
  publishAtMs: number;
  publishReturnedAtMs: number;
  /** The new EDS type version (what SotW streams see as version_info, delta as system_version_info). */
  edsVersion: string;
}

/** Server-side view: ACKs of one EDS version the ADS server processed, ms after the publish call. */
export interface AckReply {
  count: number;
  latenciesMs: number[];
  /** Per stream: ms after the publish call at which the new CLA was written to it. */
  sentMs: number[];
}

export type ChildReply = { id: number; error?: string } & Partial<ChildStats & SetShareReply & AckReply>;

/** The first line the child prints. */
export interface ChildReady {
  ready: true;
  xdsPort: number;
  pid: number;
}
