// The nonces a stream sent last, with the version each carried, so an ACK or NACK of an earlier
// response can be reported with the version it concerns. A fixed ring per stream: it is kept for
// every connected Envoy, and Envoy answers the latest response, rarely one more than a few back.

/** Responses remembered per stream (over every type). */
export const REMEMBERED_NONCES = 16;

export class SentNonces {
  private readonly nonces: string[] = [];
  private readonly versions: string[] = [];
  private next = 0;

  add(nonce: string, version: string): void {
    this.nonces[this.next] = nonce;
    this.versions[this.next] = version;
    this.next = (this.next + 1) % REMEMBERED_NONCES;
  }

  /** The version sent with `nonce`; undefined when never sent or forgotten. */
  versionOf(nonce: string): string | undefined {
    const i = this.nonces.indexOf(nonce);
    return i < 0 ? undefined : this.versions[i];
  }
}
