import { randomBytes } from 'node:crypto';
import type { Cancel } from '../core/scheduler.js';
import { PerType } from './per-type.js';
import type { Snapshot } from './snapshot.js';
import { ADS_ORDER, type TypeUrl } from './type-urls.js';

/** The part of a gRPC duplex call a stream writes to. */
export interface WritableCall<Resp> {
  write(msg: Resp): boolean;
  end(): void;
  emit(event: 'error', err: { code: number; details: string }): boolean;
}

/**
 * One ADS stream's writer, shared by SotW and delta. Types to (re)consider are marked dirty and
 * flushed in ADS order (CDS → EDS → LDS → RDS). Responses are built from the newest snapshot at
 * write time, and nothing is written while the transport pushes back: a slow stream gets the
 * latest state per type, never an unbounded queue.
 */
export class AdsStream<Resp> {
  nodeId = '';
  nodeCluster = '';
  blocked = false;
  closed = false;
  cancelWatch: Cancel = () => {};
  /** Type → whether to send even if the client appears to have everything. */
  private readonly dirty = new PerType<boolean>();
  private readonly noncePrefix = randomBytes(4).toString('hex');
  private nonceSeq = 0;

  constructor(
    readonly id: number,
    readonly call: WritableCall<Resp>,
  ) {}

  nextNonce(): string {
    return `${this.noncePrefix}-${++this.nonceSeq}`;
  }

  markDirty(typeUrl: TypeUrl, force: boolean): void {
    this.dirty.set(typeUrl, force || (this.dirty.get(typeUrl) ?? false));
  }

  /** Writes what `build` returns for each dirty type, in ADS order, until the transport pushes back. */
  flush(snapshot: Snapshot | undefined, build: (typeUrl: TypeUrl, snap: Snapshot, force: boolean) => Resp | undefined): void {
    if (!snapshot || this.closed) return;
    for (const typeUrl of ADS_ORDER) {
      if (this.blocked) return;
      const force = this.dirty.get(typeUrl);
      if (force === undefined) continue;
      this.dirty.delete(typeUrl);
      const response = build(typeUrl, snapshot, force);
      if (response !== undefined && !this.call.write(response)) this.blocked = true;
    }
  }
}
