// google.protobuf.Any, typed: the fully-qualified type name is the one key from which both the type
// URL and the message definition are found, so a packed message can never disagree with its URL.
import type { MessageTypeDefinition } from '@grpc/proto-loader';
import type {
  HttpConnectionManager,
  HttpConnectionManager__Output,
} from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js';
import type { Router, Router__Output } from '../generated/envoy/extensions/filters/http/router/v3/Router.js';
import type {
  UpstreamTlsContext,
  UpstreamTlsContext__Output,
} from '../generated/envoy/extensions/transport_sockets/tls/v3/UpstreamTlsContext.js';
import type { Any } from '../generated/google/protobuf/Any.js';
import type {
  StatefulSession,
  StatefulSession__Output,
} from '../generated/envoy/extensions/filters/http/stateful_session/v3/StatefulSession.js';
import type {
  HeaderBasedSessionState,
  HeaderBasedSessionState__Output,
} from '../generated/envoy/extensions/http/stateful_session/header/v3/HeaderBasedSessionState.js';
import type {
  CookieBasedSessionState,
  CookieBasedSessionState__Output,
} from '../generated/envoy/extensions/http/stateful_session/cookie/v3/CookieBasedSessionState.js';
import type {
  HeaderMutation,
  HeaderMutation__Output,
} from '../generated/envoy/extensions/filters/http/header_mutation/v3/HeaderMutation.js';
import type { UpstreamCodec, UpstreamCodec__Output } from '../generated/envoy/extensions/filters/http/upstream_codec/v3/UpstreamCodec.js';
import type {
  PreviousHostsPredicate,
  PreviousHostsPredicate__Output,
} from '../generated/envoy/extensions/retry/host/previous_hosts/v3/PreviousHostsPredicate.js';
import type {
  HttpProtocolOptions,
  HttpProtocolOptions__Output,
} from '../generated/envoy/extensions/upstreams/http/v3/HttpProtocolOptions.js';
import type { SpillwayProtos } from './load-protos.js';

/** The messages Spillway packs into (or reads from) an Any: input and output forms by type name. */
interface AnyTypes {
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager': [
    HttpConnectionManager,
    HttpConnectionManager__Output,
  ];
  'envoy.extensions.filters.http.router.v3.Router': [Router, Router__Output];
  'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext': [UpstreamTlsContext, UpstreamTlsContext__Output];
  'envoy.extensions.filters.http.stateful_session.v3.StatefulSession': [StatefulSession, StatefulSession__Output];
  'envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState': [HeaderBasedSessionState, HeaderBasedSessionState__Output];
  'envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState': [CookieBasedSessionState, CookieBasedSessionState__Output];
  'envoy.extensions.filters.http.header_mutation.v3.HeaderMutation': [HeaderMutation, HeaderMutation__Output];
  'envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec': [UpstreamCodec, UpstreamCodec__Output];
  'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate': [PreviousHostsPredicate, PreviousHostsPredicate__Output];
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': [HttpProtocolOptions, HttpProtocolOptions__Output];
}
export type AnyTypeName = keyof AnyTypes;

export const typeUrlOf = (name: AnyTypeName): string => `type.googleapis.com/${name}`;

function definitionOf<K extends AnyTypeName>(protos: SpillwayProtos, name: K): MessageTypeDefinition<AnyTypes[K][0], AnyTypes[K][1]> {
  let node: unknown = protos;
  for (const part of name.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  if (!node) throw new Error(`${name} is not among the loaded protos`);
  return node as MessageTypeDefinition<AnyTypes[K][0], AnyTypes[K][1]>;
}

/** Packs a message by its own generated definition: no stringly-typed '@type' objects travel through Spillway. */
export function packAny<K extends AnyTypeName>(protos: SpillwayProtos, name: K, message: AnyTypes[K][0]): Any {
  return { type_url: typeUrlOf(name), value: definitionOf(protos, name).serialize(message) };
}

/** The message inside an Any when it is of type `name`; undefined for any other type or an empty Any. */
export function unpackAny<K extends AnyTypeName>(protos: SpillwayProtos, name: K, any: Any | null | undefined): AnyTypes[K][1] | undefined {
  if (!any || !('type_url' in any) || any.type_url !== typeUrlOf(name) || any.value === undefined) return undefined;
  const v = any.value;
  return definitionOf(protos, name).deserialize(typeof v === 'string' ? Buffer.from(v, 'base64') : Buffer.from(v));
}
