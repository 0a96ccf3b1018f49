// What the ADS glue needs from a protocol (state of the world or delta) for one stream: what a
// request means, and which response (if any) a type owes the client now. Both implementations are
// bookkeeping without I/O over the pure per-type functions of sotw-state.ts and delta-state.ts; the
// glue in ads-server.ts does the I/O, the events and the logging, once for both.
import type { EncodedResource, Snapshot } from './snapshot.js';
import { TypeUrl } from './type-urls.js';

/**
 * How the glue must treat a request. `holds`: a new stream showed it already runs the current
 * version of the type (nothing is sent, and it counts as in sync).
 */
export type RequestKind = 'init' | 'holds' | 'ack' | 'nack' | 'stale' | 'quiet';

export interface RequestVerdict {
  kind: RequestKind;
  /** The version the client ACKed, NACKed or holds ('' when unknown). */
  version: string;
  /** Reconsider the type now. */
  flush: boolean;
  /** When flushing, send every wanted resource even if the client appears to hold it. */
  force: boolean;
}

export interface Outgoing<Resp> {
  response: Resp;
  version: string;
  nonce: string;
  resources: readonly EncodedResource[];
  /** Delta: names the response removes. */
  removed?: readonly string[];
}

export interface ResponseStep<Resp> {
  /** The response to write, already recorded as sent. */
  sent?: Outgoing<Resp>;
  /** Delta only: the type's version moved on with nothing for this stream; it runs this version once its last response is ACKed. */
  upToDate?: string;
  /** Delta only: the stream's first look at the type found nothing to send: the client already holds this version. */
  holds?: string;
  /** Types the glue must reconsider in the same flush, forcing a response (see WARMS_WITH). */
  wake?: TypeUrl;
}

/** What a stream asked for of one type. */
export interface Subscription {
  /** Everything of the type (CDS/LDS wildcard). */
  wildcard: boolean;
  /** Names asked for explicitly. */
  names: ReadonlySet<string>;
}

export interface ProtocolSession<Req, Resp> {
  onRequest(typeUrl: TypeUrl, req: Req, errorDetail: string | undefined, snap: Snapshot | undefined): RequestVerdict;
  respond(typeUrl: TypeUrl, snap: Snapshot, force: boolean): ResponseStep<Resp>;
  /** The subscription for a type (for CSDS), undefined before the client asked for it. */
  subscription(typeUrl: TypeUrl): Subscription | undefined;
}

/**
 * A resource that changed warms in Envoy until its dependent arrives, even when the dependent did
 * not change: a cluster waits for its ClusterLoadAssignment. The dependent is sent in the same flush.
 */
export const WARMS_WITH: Partial<Record<TypeUrl, TypeUrl>> = { [TypeUrl.Cluster]: TypeUrl.Endpoint };
