// The fake Modal's control side: Modal's gRPC service (package modal.client, service ModalClient) over
// plaintext h2c, answering the RPCs modal@0.11.1 makes for auth, function lookup, current stats and
// autoscaler updates. The real SDK, pointed here by MODAL_SERVER_URL=http://127.0.0.1:<port>, cannot
// tell it from Modal for those calls.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { ownProtoDir } from '../../src/protos/proto-paths.js';
import { MODAL_PROTO_FILES } from '../../src/protos/proto-files.js';
import type { ProtoGrpcType } from '../../src/generated/modal_api.js';
import type { AutoscalerSettings, AutoscalerSettings__Output } from '../../src/generated/modal/client/AutoscalerSettings.js';
import type { FunctionHandleMetadata } from '../../src/generated/modal/client/FunctionHandleMetadata.js';
import type { ModalClientHandlers } from '../../src/generated/modal/client/ModalClient.js';
import type { SimSettings } from './autoscaler-sim.js';
import type { FakeFunction, FakeModalState } from './fake-modal-state.js';

export interface ControlServerOptions {
  state: FakeModalState;
  host?: string;
  port?: number;
  /** When set, calls must carry these credentials (x-modal-token-id / x-modal-token-secret). */
  credentials?: { tokenId: string; tokenSecret: string };
  /** The web URL the function handles advertise. */
  webUrl: () => string;
}

export interface ControlServer {
  /** What MODAL_SERVER_URL should be set to (no trailing slash: nice-grpc mis-parses one). */
  url: string;
  close(): Promise<void>;
}

/** Prefix of the fake's auth tokens; a call carrying any other x-modal-auth-token is rejected. */
const TOKEN_PREFIX = 'fake-modal';

/** Modal's FunctionHandleMetadata.function_type FUNCTION (1), and DATA_FORMAT_CBOR (4) so calls would be allowed. */
const FUNCTION_TYPE_FUNCTION = 1;
const DATA_FORMAT_CBOR = 4;

/** Marks a stats reply that must go out as undecodable bytes (the statsMalformed fault). */
const MALFORMED = Symbol('malformed');

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const definition = protoLoader.loadSync(
    MODAL_PROTO_FILES.map((f) => join(ownProtoDir(), f)),
    {
      keepCase: true,
      longs: String,
      enums: String,
      // No defaults: proto3 `optional` fields must stay absent when unset so "leave as is" is visible.
      defaults: false,
      oneofs: true,
    },
  );
  const proto = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  const service = withMalformedStats(proto.modal.client.ModalClient.service);
  const { state } = opts;

  /** Runs the checks every call shares; returns an error to send, or undefined to proceed. */
  const gate = (method: string, call: grpc.ServerUnaryCall<unknown, unknown>, needsAuthToken: boolean): grpc.ServiceError | undefined => {
    state.countCall(method);
    const f = state.currentFaults();
    if (f.outage || f.apiOutage) return status(grpc.status.UNAVAILABLE, 'fake modal: outage');
    const md = call.metadata;
    if (opts.credentials) {
      const id = md.get('x-modal-token-id')[0];
      const secret = md.get('x-modal-token-secret')[0];
      // Never echo what was sent: the message must not carry credentials anywhere.
      if (id !== opts.credentials.tokenId || secret !== opts.credentials.tokenSecret) {
        return status(grpc.status.UNAUTHENTICATED, 'Invalid token id or secret');
      }
    }
    if (needsAuthToken && !String(md.get('x-modal-auth-token')[0] ?? '').startsWith(TOKEN_PREFIX)) {
      return status(grpc.status.UNAUTHENTICATED, 'Missing or invalid auth token');
    }
    return undefined;
  };

  const handlers: ModalClientHandlers = {
    AuthTokenGet(call, cb) {
      const err = gate('AuthTokenGet', call, false);
      if (err) return cb(err);
      cb(null, { token: makeAuthToken() });
    },
    FunctionGet(call, cb) {
      const err = gate('FunctionGet', call, true);
      if (err) return cb(err);
      const f = state.byName(call.request.app_name, call.request.object_tag);
      if (!f) return cb(status(grpc.status.NOT_FOUND, `Function '${call.request.app_name}/${call.request.object_tag}' not found`));
      cb(null, { function_id: f.functionId, handle_metadata: handleMetadata(f, opts.webUrl()) });
    },
    FunctionGetById(call, cb) {
      const err = gate('FunctionGetById', call, true);
      if (err) return cb(err);
      const f = state.byId(call.request.function_id);
      if (!f) return cb(status(grpc.status.NOT_FOUND, `Function '${call.request.function_id}' not found`));
      cb(null, { function: { function_name: f.functionName }, handle_metadata: handleMetadata(f, opts.webUrl()) });
    },
    FunctionGetCurrentStats(call, cb) {
      const err = gate('FunctionGetCurrentStats', call, true);
      if (err) return cb(err);
      const f = state.byId(call.request.function_id);
      if (!f) return cb(status(grpc.status.NOT_FOUND, `Function '${call.request.function_id}' not found`));
      const faults = state.currentFaults();
      const answer = (): void => {
        // Faults are read again when answering: a test may lift them while a slow call waits.
        const now = state.currentFaults();
        if (now.outage || now.apiOutage) return cb(status(grpc.status.UNAVAILABLE, 'fake modal: outage'));
        if (now.statsError) return cb(status(grpc.status[now.statsError], `fake modal: injected ${now.statsError}`));
        const s = state.reportedStats(f);
        const reply = {
          backlog: s.backlog,
          num_total_tasks: s.runners,
          num_running_inputs: s.runningInputs,
          input_headroom: s.inputHeadroom,
        };
        cb(null, now.statsMalformed ? Object.assign(reply, { [MALFORMED]: true }) : reply);
      };
      if (faults.statsDelayMs) state.scheduler.after(faults.statsDelayMs, answer);
      else answer();
    },
    FunctionUpdateSchedulingParams(call, cb) {
      const err = gate('FunctionUpdateSchedulingParams', call, true);
      if (err) return cb(err);
      const f = state.byId(call.request.function_id);
      if (!f) return cb(status(grpc.status.NOT_FOUND, `Function '${call.request.function_id}' not found`));
      const settings = fromWire(call.request.settings);
      state.noteAutoscalerUpdate(f.functionId, String(call.metadata.get('x-modal-token-id')[0] ?? ''), settings);
      const current = f.sim.updateSettings(settings);
      cb(null, { current_settings: toWire(current) });
    },
  };

  const server = new grpc.Server();
  server.addService(
    service,
    slowedBy(handlers, () => state.currentFaults().apiDelayMs, state.scheduler),
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${opts.host?.includes(':') ? `[${opts.host}]` : (opts.host ?? '127.0.0.1')}:${opts.port ?? 0}`,
      grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    );
  });
  const host = opts.host && opts.host !== '0.0.0.0' && opts.host !== '::' ? opts.host : '127.0.0.1';
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Open SDK channels keep HTTP/2 sessions alive; don't let them hold a test's teardown.
        setTimeout(() => server.forceShutdown(), 500).unref();
      }),
  };
}

/** Each handler runs only after the apiDelayMs fault's delay, when set (read per call). */
function slowedBy(
  handlers: ModalClientHandlers,
  delayMs: () => number | undefined,
  scheduler: { after(ms: number, fn: () => void): unknown },
): ModalClientHandlers {
  const out: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(handlers)) {
    const h = handler as (call: unknown, cb: unknown) => void;
    out[name] = (call: unknown, cb: unknown) => {
      const d = delayMs();
      if (d) scheduler.after(d, () => h(call, cb));
      else h(call, cb);
    };
  }
  return out as unknown as ModalClientHandlers;
}

function status(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

/** A JWT-shaped token whose payload the SDK can read with atob() (standard base64, an exp claim). */
function makeAuthToken(): string {
  // Wall-clock on purpose: the SDK judges expiry with Date.now(), whatever clock drives the simulation.
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const payload = Buffer.from(JSON.stringify({ exp, sub: 'fake' }))
    .toString('base64')
    .replace(/=+$/, '');
  return `${TOKEN_PREFIX}.${payload}.unsigned`;
}

function handleMetadata(f: FakeFunction, webUrl: string): FunctionHandleMetadata {
  return {
    function_name: f.functionName,
    function_type: FUNCTION_TYPE_FUNCTION,
    web_url: webUrl,
    supported_input_formats: [DATA_FORMAT_CBOR],
    supported_output_formats: [DATA_FORMAT_CBOR],
    app_id: f.appId,
  };
}

/** Presence-aware: only fields the caller set change the simulation (Modal keeps the rest). */
function fromWire(s: AutoscalerSettings__Output | null | undefined): Partial<SimSettings> {
  const out: Partial<SimSettings> = {};
  if (!s) return out;
  if (s.min_containers !== undefined) out.minContainers = s.min_containers;
  if (s.max_containers !== undefined) out.maxContainers = s.max_containers;
  if (s.buffer_containers !== undefined) out.bufferContainers = s.buffer_containers;
  if (s.scaledown_window !== undefined) out.scaledownWindowMs = s.scaledown_window * 1000;
  return out;
}

function toWire(s: SimSettings): AutoscalerSettings {
  return {
    min_containers: s.minContainers,
    max_containers: s.maxContainers,
    buffer_containers: s.bufferContainers,
    scaledown_window: Math.trunc(s.scaledownWindowMs / 1000),
  };
}

/**
 * A copy of the service definition whose stats serializer can emit bytes that are not a FunctionStats:
 * field 1 as a varint that never ends, which the SDK's decoder rejects.
 */
function withMalformedStats(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const method = def['FunctionGetCurrentStats'];
  if (!method) throw new Error('proto lacks FunctionGetCurrentStats');
  const serialize = method.responseSerialize;
  return {
    ...def,
    FunctionGetCurrentStats: {
      ...method,
      responseSerialize: (value: unknown) =>
        typeof value === 'object' && value !== null && MALFORMED in value
          ? Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
          : serialize(value),
    },
  };
}
