import { Listeners } from '../core/listeners.js';
import type { NodeInfo } from './node-info.js';
import type { EncodedResource } from './snapshot.js';
import type { TypeUrl } from './type-urls.js';

/**
 * What the ADS/LRS servers tell the rest of Spillway (sync status, metrics, logs). Read-only
 * observers subscribe; nothing in the xDS path waits on them.
 */
export type XdsEvent =
  | {
      kind: 'stream-opened';
      streamId: number;
      nodeId: string;
      cluster: string;
      /** The rest of what the node said about itself (metadata, locality, user agent). */
      node: NodeInfo;
      protocol: 'sotw' | 'delta';
      atMs: number;
    }
  | { kind: 'stream-closed'; streamId: number; nodeId: string; atMs: number }
  | {
      kind: 'sent';
      streamId: number;
      nodeId: string;
      typeUrl: TypeUrl;
      version: string;
      nonce: string;
      resources: number;
      bytes: number;
      /** The resources the response carried (shared, never copied). */
      content: readonly EncodedResource[];
      /** Delta: names the response removed. */
      removed: readonly string[];
      atMs: number;
    }
  | { kind: 'ack'; streamId: number; nodeId: string; typeUrl: TypeUrl; version: string; nonce: string; atMs: number }
  | { kind: 'nack'; streamId: number; nodeId: string; typeUrl: TypeUrl; version: string; nonce: string; detail: string; atMs: number }
  | { kind: 'stale-nonce'; streamId: number; nodeId: string; typeUrl: TypeUrl; nonce: string; atMs: number }
  /**
   * Delta only: the type's version changed but nothing in it concerns this stream (e.g. a CLA it
   * is not subscribed to, or an EDS/RDS resource removed with its parent), so nothing was sent:
   * once the last response is ACKed, the client runs `version`'s content.
   */
  | { kind: 'up-to-date'; streamId: number; nodeId: string; typeUrl: TypeUrl; version: string; atMs: number }
  /**
   * A new stream showed it already runs `version` of the type (SotW: the version it presented is the
   * current one of a wildcard type; delta: its initial_resource_versions covered everything), so
   * nothing was sent and it is in sync.
   */
  | { kind: 'holds'; streamId: number; nodeId: string; typeUrl: TypeUrl; version: string; atMs: number };

export type XdsEventListener = (event: XdsEvent) => void;

/** A typed fan-out; a throwing listener is isolated from the others and from the stream. */
export class XdsEvents {
  private readonly listeners = new Listeners<[XdsEvent]>();

  on(listener: XdsEventListener): () => void {
    return this.listeners.add(listener);
  }

  emit(event: XdsEvent): void {
    this.listeners.emit(event);
  }
}
