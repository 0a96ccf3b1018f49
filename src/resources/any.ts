import type { MessageTypeDefinition } from '@grpc/proto-loader';
import type { Any } from '../generated/google/protobuf/Any.js';

/**
 * Packs a typed message into a google.protobuf.Any. The message is serialised by its own
 * generated definition, so no stringly-typed '@type' objects travel through Spillway.
 */
export function packAny<I>(typeName: string, def: MessageTypeDefinition<I, unknown>, message: I): Any {
  return { type_url: `type.googleapis.com/${typeName}`, value: def.serialize(message) };
}

/** The type URL and bytes of a packed Any (Spillway never builds the '@type' JSON form). */
export function unpackAnyBytes(any: Any | null | undefined): { typeUrl: string; value: Buffer } | undefined {
  if (!any || !('type_url' in any) || !any.type_url || any.value === undefined) return undefined;
  const v = any.value;
  return { typeUrl: any.type_url, value: typeof v === 'string' ? Buffer.from(v, 'base64') : Buffer.from(v) };
}
