// The nonces a stream sent last, with the version each carried, so an ACK or NACK of an earlier
// response can be reported with the version it concerns. A fixed ring per type, so a burst of EDS
// pushes never pushes out the CDS response an Envoy is still answering; kept for every connected
// Envoy, so small: Envoy answers the latest response, rarely one more than a few back.
import { ADS_ORDER, type TypeUrl } from './type-urls.js';

/** Responses remembered per stream and type. */
export const REMEMBERED_NONCES_PER_TYPE = 4;

export class SentNonces {
  /** Type i's ring is slots [i × R, (i + 1) × R). */
  private readonly nonces: string[] = [];
  private readonly versions: string[] = [];
  private readonly next: number[] = ADS_ORDER.map(() => 0);

  add(typeUrl: TypeUrl, nonce: string, version: string): void {
    const t = ADS_ORDER.indexOf(typeUrl);
    const slot = t * REMEMBERED_NONCES_PER_TYPE + this.next[t]!;
    this.nonces[slot] = nonce;
    this.versions[slot] = version;
    this.next[t] = (this.next[t]! + 1) % REMEMBERED_NONCES_PER_TYPE;
  }

  /** The version sent with `nonce` for the type; undefined when never sent for it, or forgotten. */
  versionOf(typeUrl: TypeUrl, nonce: string): string | undefined {
    const from = ADS_ORDER.indexOf(typeUrl) * REMEMBERED_NONCES_PER_TYPE;
    for (let slot = from; slot < from + REMEMBERED_NONCES_PER_TYPE; slot++) {
      if (this.nonces[slot] === nonce) return this.versions[slot];
    }
    return undefined;
  }
}
