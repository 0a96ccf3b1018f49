// Runs the admin verbs (status, cordon, soft-cordon, uncordon, override, clear-override) against
// the admin port: one call each, the answer rendered by the pure render-* functions, and an exit
// code from exit-codes.ts. Errors go to stderr with Spillway's own message, which names the field.
import type * as grpc from '@grpc/grpc-js';
import { durationFromMs } from '../core/duration.js';
import type { ClientStatusResponse__Output } from '../generated/envoy/service/status/v3/ClientStatusResponse.js';
import type { CordonResponse__Output } from '../generated/spillway/admin/v1/CordonResponse.js';
import type { ServiceState__Output } from '../generated/spillway/admin/v1/ServiceState.js';
import type { State__Output } from '../generated/spillway/admin/v1/State.js';
import { callUnary, connectAdmin, type AdminConnection, type CallResult } from './admin-client.js';
import type { AdminCommand } from './args.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { renderCordon, renderServiceAfter } from './render-mutation.js';
import { nodeJson, renderNodeDetail, renderStatusTable, statusJson } from './render-status.js';

export interface VerbIo {
  out: (text: string) => void;
  err: (text: string) => void;
  nowMs: () => number;
}

const CORDON_METHOD = { cordon: 'Cordon', 'soft-cordon': 'SoftCordon', uncordon: 'Uncordon' } as const;

export async function runAdminCommand(cmd: AdminCommand, io: VerbIo): Promise<number> {
  const conn = connectAdmin(cmd.target);
  try {
    return await run(cmd, conn, io);
  } finally {
    conn.close();
  }
}

async function run(cmd: AdminCommand, conn: AdminConnection, io: VerbIo): Promise<number> {
  const { token, output, admin } = cmd.target;
  const json = output === 'json';
  const failed = (r: { err: grpc.ServiceError }): number => {
    const code = exitCodeFor(r.err.code);
    const details = r.err.details || r.err.message;
    const message =
      code === ExitCode.Unreachable
        ? `cannot reach Spillway's admin port at ${admin} (${details.replace(/\s*Resolution note:\s*$/, '')}); set --admin or SPILLWAY_ADMIN`
        : code === ExitCode.Unauthorized
          ? `${details} (${token ? 'the token was refused' : 'no token was sent'}: put it in the variable --token-env names, default SPILLWAY_ADMIN_TOKEN)`
          : details;
    io.err(`spillway ${cmd.verb}: ${message}\n`);
    return code;
  };
  const print = (lines: string[], value: unknown): void =>
    io.out(json ? `${JSON.stringify(value, null, 2)}\n` : lines.map((l) => `${l}\n`).join(''));

  switch (cmd.verb) {
    case 'status': {
      const state: CallResult<State__Output> = await callUnary(conn.admin.GetState.bind(conn.admin), {}, token);
      if (!state.ok) return failed(state);
      if (cmd.node === undefined) {
        print(renderStatusTable(state.res, io.nowMs()), statusJson(state.res));
        return ExitCode.Ok;
      }
      const envoy = state.res.envoys.find((e) => e.node_id === cmd.node);
      if (!envoy) {
        const known = state.res.envoys.map((e) => e.node_id);
        io.err(
          `spillway status: --node: "${cmd.node}" is not connected to ${state.res.replica_id || admin}${known.length ? ` (connected: ${known.join(', ')})` : ''}\n`,
        );
        return ExitCode.Refused;
      }
      const csds: CallResult<ClientStatusResponse__Output> = await callUnary(
        conn.csds.FetchClientStatus.bind(conn.csds),
        { node_matchers: [{ node_id: { exact: cmd.node } }], exclude_resource_contents: true },
        token,
      );
      if (!csds.ok) return failed(csds);
      const config = csds.res.config[0];
      print(renderNodeDetail(envoy, config, io.nowMs()), nodeJson(envoy, config));
      return ExitCode.Ok;
    }
    case 'cordon':
    case 'soft-cordon':
    case 'uncordon': {
      const method = conn.admin[CORDON_METHOD[cmd.verb]].bind(conn.admin);
      const r: CallResult<CordonResponse__Output> = await callUnary(
        method,
        { service: cmd.service, endpoint: cmd.endpoint, reason: cmd.reason },
        token,
      );
      if (!r.ok) return failed(r);
      print(renderCordon(r.res), r.res);
      return ExitCode.Ok;
    }
    case 'override': {
      const r: CallResult<ServiceState__Output> = await callUnary(
        conn.admin.Override.bind(conn.admin),
        { service: cmd.service, share: cmd.share, duration: durationFromMs(cmd.durationMs), reason: cmd.reason },
        token,
      );
      if (!r.ok) return failed(r);
      print(renderServiceAfter(r.res, io.nowMs()), r.res);
      return ExitCode.Ok;
    }
    case 'clear-override': {
      const r: CallResult<ServiceState__Output> = await callUnary(
        conn.admin.ClearOverride.bind(conn.admin),
        { service: cmd.service, reason: cmd.reason },
        token,
      );
      if (!r.ok) return failed(r);
      print(renderServiceAfter(r.res, io.nowMs()), r.res);
      return ExitCode.Ok;
    }
  }
}
