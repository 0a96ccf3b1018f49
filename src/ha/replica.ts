// One replica of a group that acts as one control plane on etcd. Every replica serves ADS, LRS, admin
// and metrics, shares its LRS load, and publishes exactly what the group's keys say (plans, cordons,
// overrides, the Modal address), so all replicas serve identical resources with identical versions.
// Exactly one — the leader, the oldest live candidate in the etcd election — runs the capacity
// controller on the whole group's load and drives Modal's autoscaler; its writes are fenced (fence.ts).
// Without etcd a replica keeps serving what it last saw, stops leading once etcd can no longer vouch
// for its lease, says so in health and metrics, and rejoins by itself.
import type { Namespace } from 'etcd3';
import type { Decision } from '../capacity/types.js';
import type { HaConfig, ServiceConfig } from '../config/config-types.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { Listeners } from '../core/listeners.js';
import type { Logger } from '../core/logger.js';
import { every, type Cancel, type Scheduler } from '../core/scheduler.js';
import type { CapacityController } from '../control/capacity-controller.js';
import type { PlanRouter } from '../control/plan-router.js';
import type { Publisher } from '../control/publisher.js';
import type { ReplicaMember, ReplicationStatus } from '../control/replication-status.js';
import type { LocalLoadView, LoadView } from '../lrs/load-view.js';
import type { ActuationGate, ModalAutoscalerActuator } from '../modal/autoscaler-actuator.js';
import type { AutoscalerSettings } from '../modal/types.js';
import type { TrafficPlan } from '../model/traffic-plan.js';
import { DecisionWriter } from './decision-writer.js';
import { connectEtcd, type EtcdConnection } from './etcd-client.js';
import { fencedCommit, type Fence } from './fence.js';
import { FleetLoadView } from './fleet-load.js';
import { KeyFamily, keys } from './keys.js';
import { LoadSharing } from './load-sharing.js';
import { GroupMirror, type MirrorEntry } from './mirror.js';
import {
  decodeAutoscaler,
  decodeController,
  decodeElection,
  decodeMember,
  decodeModalAddress,
  decodeOverride,
  decodePlan,
  encodeRecord,
  type AutoscalerRecord,
  type Decoded,
  type ElectionRecord,
  type MemberRecord,
  type ModalAddressRecord,
} from './records.js';
import { GroupStateApplier } from './group-state-applier.js';
import { ReplicatedActions } from './replicated-actions.js';
import { Session } from './session.js';

export interface ReplicaOptions {
  ha: HaConfig;
  replicaId: string;
  /** Hash of the services configuration (replicas with different ones cannot serve identical resources). */
  configHash: string;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  publisher: Publisher;
  router: PlanRouter;
  lrs: LocalLoadView;
  lrsIntervalMs: number;
  /** Created but not started: it runs only while this replica leads. */
  controller: CapacityController | undefined;
  actuator: ModalAutoscalerActuator | undefined;
  /** The controller's tick: how often its memory is written between plan changes. */
  memoryIntervalMs: number;
  /** A plan from the group was published here (app.onDecision). */
  onDecision: (service: string, decision: Decision) => void;
  /** The leader asked for a second look at demand: ask this replica's Envoys for their next report sooner. */
  onLoadFollowUp: (service: string, afterMs: number) => void;
  /** Monotonic milliseconds (tests may pass their own). */
  monotonicMs?: () => number;
}

export interface Replica {
  readonly replicaId: string;
  /**
   * Joins the group once this replica serves (xds and admin are where Envoys and operators reach it,
   * shown to the others): it announces itself, shares its load and stands for leader.
   */
  join(addresses: { xds: string; admin: string }): void;
  /** The group's load: what the leader decides from, and what admin shows. */
  readonly load: LoadView;
  /** Envoys connected to the whole group (each replica's own, as last shared). */
  groupEnvoys(): number;
  readonly actions: ReplicatedActions;
  status(): ReplicationStatus;
  /** Called when leadership, membership or the link to etcd changes. */
  onStatus(fn: () => void): () => void;
  /** The controller decided (it runs only on the leader). */
  decided(service: string, decision: Decision): void;
  /** This replica resolved a Modal hostname (the leader shares its answer, so every replica publishes the same address). */
  modalResolved(service: string, hostname: string, addresses: readonly string[]): void;
  /** Steps down (revoking the lease: another replica takes over at once) and leaves the group. */
  stop(): Promise<void>;
}

interface Candidacy {
  leaseId: string;
  key: string;
  token: bigint;
}

interface Leading {
  fence: Fence;
  writer: DecisionWriter;
  sinceMs: number;
}

/** Connects, reads the group's state and applies it (before anything is served); join() when serving. */
export async function startReplica(opts: ReplicaOptions): Promise<Replica> {
  const r = new ReplicaImpl(opts);
  await r.start();
  return r;
}

class ReplicaImpl implements Replica {
  readonly replicaId: string;
  readonly load: FleetLoadView;
  readonly actions: ReplicatedActions;
  private readonly conn: EtcdConnection;
  private readonly group: Namespace;
  private readonly mirror: GroupMirror;
  private readonly session: Session;
  private readonly sharing: LoadSharing;
  private readonly applier: GroupStateApplier;
  private readonly log: Logger;
  private readonly statusListeners: Listeners<[]>;
  private readonly marginMs: number;
  private readonly resolved = new Map<string, { hostname: string; addresses: readonly string[] }>();
  private readonly sentAt = new Map<string, number>();
  private candidacy: Candidacy | undefined;
  private leading: Leading | undefined;
  private stopped = false;
  private cancelTimer: Cancel = () => {};
  private lastStatusKey = '';
  private joined = false;
  private addresses = { xds: '', admin: '' };
  private disconnectedSinceMs: number | undefined;

  constructor(private readonly opts: ReplicaOptions) {
    this.replicaId = opts.replicaId;
    this.log = opts.logger.child({ component: 'ha', replica: opts.replicaId });
    this.statusListeners = new Listeners<[]>((err) => this.log.error({ error: errorMessage(err) }, 'status listener failed'));
    const ttlMs = opts.ha.leaseTtlS * 1000;
    // A leader stops acting this long before etcd could let its lease go (clock drift, a slow keepalive answer).
    this.marginMs = Math.min(1_000, ttlMs / 5);
    this.conn = connectEtcd(opts.ha.etcd, opts.ha.prefix, { callTimeoutMs: Math.min(2_000, ttlMs / 2) });
    this.group = this.conn.group;
    this.mirror = new GroupMirror({ group: this.group, scheduler: opts.scheduler, logger: opts.logger });
    this.session = new Session({
      group: this.group,
      ttlS: opts.ha.leaseTtlS,
      scheduler: opts.scheduler,
      logger: opts.logger,
      ...(opts.monotonicMs ? { monotonicMs: opts.monotonicMs } : {}),
    });
    this.load = new FleetLoadView(opts.clock, opts.lrs, opts.replicaId);
    this.sharing = new LoadSharing({
      group: this.group,
      replica: opts.replicaId,
      local: opts.lrs,
      intervalMs: opts.lrsIntervalMs,
      leaseId: () => this.session.leaseId(),
      clock: opts.clock,
      scheduler: opts.scheduler,
      logger: opts.logger,
    });
    this.applier = new GroupStateApplier({
      self: opts.replicaId,
      publisher: opts.publisher,
      router: opts.router,
      load: this.load,
      clock: opts.clock,
      logger: this.log,
      onDecision: opts.onDecision,
      onLoadFollowUp: opts.onLoadFollowUp,
    });
    this.actions = new ReplicatedActions({
      group: this.group,
      mirror: this.mirror,
      replica: opts.replicaId,
      clock: opts.clock,
      scheduler: opts.scheduler,
    });
  }

  async start(): Promise<void> {
    // Followers never actuate: the actuator starts idle and only a leader wakes it.
    this.opts.actuator?.release();
    this.opts.actuator?.setGate(this.gate());
    this.mirror.onChanges((changes, origin) => {
      this.applier.apply(changes, origin);
      this.evaluate();
    });
    this.mirror.onConnection(() => this.evaluate());
    this.log.info(
      { etcd: this.opts.ha.etcd.endpoints, prefix: this.opts.ha.prefix, leaseTtlS: this.opts.ha.leaseTtlS },
      'joining the replica group',
    );
    await this.mirror.start();
  }

  join(addresses: { xds: string; admin: string }): void {
    if (this.joined || this.stopped) return;
    this.joined = true;
    this.addresses = addresses;
    this.session.onUp((leaseId) => void this.stand(leaseId));
    this.session.onLost(() => {
      this.candidacy = undefined;
      this.evaluate();
    });
    this.session.onRenewed(() => this.evaluate());
    this.session.start();
    const period = Math.max(50, Math.min(250, (this.opts.ha.leaseTtlS * 1000) / 10));
    this.cancelTimer = every(this.opts.scheduler, period, () => {
      this.evaluate();
      this.expireOverrides();
    });
  }

  groupEnvoys(): number {
    return this.load.groupEnvoys();
  }

  status(): ReplicationStatus {
    const leader = this.leaderEntry();
    const leaderId = leader ? this.electionRecord(leader)?.replica : undefined;
    const members: ReplicaMember[] = this.mirror.list(`${KeyFamily.Members}/`).flatMap((e) => {
      const m = value(decodeMember(e.value));
      return m
        ? [
            {
              replicaId: m.replica,
              xds: m.xds,
              admin: m.admin,
              leader: m.replica === leaderId,
              sameConfig: m.configHash === this.opts.configHash,
            },
          ]
        : [];
    });
    const etcdConnected = this.etcdConnected();
    return {
      replicaId: this.replicaId,
      leaderId,
      isLeader: this.leading !== undefined,
      fencingToken: leader?.createRevision.toString(),
      etcdConnected,
      degraded: this.degraded(etcdConnected, leaderId, members),
      members,
    };
  }

  onStatus(fn: () => void): () => void {
    return this.statusListeners.add(fn);
  }

  decided(service: string, decision: Decision): void {
    this.leading?.writer.offer(service, decision);
  }

  modalResolved(service: string, hostname: string, addresses: readonly string[]): void {
    this.resolved.set(service, { hostname, addresses });
    const shared = this.sharedModalAddress(service);
    // Until the group shares addresses, serve what this replica resolved.
    if (!shared || shared.hostname !== hostname) this.opts.publisher.setModalAddresses(service, addresses);
    if (this.leading && !sameAddresses(shared, hostname, addresses)) void this.shareModalAddress(service, hostname, addresses);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer();
    this.demote('shutting down');
    this.sharing.stop();
    // The lease first: its keys go at once, and the next leader need not wait out the TTL.
    await this.session.close();
    await this.mirror.close();
    this.conn.close();
  }

  // --- membership and election ---

  /** A lease was granted: (re)announce this replica and stand as a candidate under it. */
  private async stand(leaseId: string): Promise<void> {
    this.sharing.now();
    const member: MemberRecord = {
      replica: this.replicaId,
      xds: this.addresses.xds,
      admin: this.addresses.admin,
      startedAtMs: this.opts.clock.nowMs(),
      configHash: this.opts.configHash,
    };
    const key = keys.election(leaseId);
    const candidate: ElectionRecord = { replica: this.replicaId };
    for (let attempt = 0; !this.stopped && this.session.leaseId() === leaseId; attempt++) {
      try {
        await this.group.put(keys.member(this.replicaId)).value(encodeRecord(member)).lease(leaseId);
        const res = await this.group
          .if(key, 'Create', '==', 0)
          .then(this.group.put(key).value(encodeRecord(candidate)).lease(leaseId))
          .else(this.group.get(key))
          .commit();
        const token = res.succeeded
          ? BigInt(res.header.revision)
          : BigInt(res.responses[0]?.response_range?.kvs[0]?.create_revision ?? '0');
        if (token === 0n) throw new Error(`election key ${key} vanished while standing`);
        this.candidacy = { leaseId, key, token };
        this.log.info({ lease: leaseId, token: token.toString() }, 'standing for leader');
        this.evaluate();
        return;
      } catch (err) {
        this.log.debug({ error: errorMessage(err), attempt }, 'cannot stand for leader yet; retrying');
        await new Promise<void>((r) => this.opts.scheduler.after(Math.min(2_000, 200 * 2 ** Math.min(attempt, 4)), r));
      }
    }
  }

  /** The oldest live candidate: the leader. */
  private leaderEntry(): MirrorEntry | undefined {
    let oldest: MirrorEntry | undefined;
    for (const e of this.mirror.list(`${KeyFamily.Election}/`)) if (!oldest || e.createRevision < oldest.createRevision) oldest = e;
    return oldest;
  }

  private electionRecord(e: MirrorEntry): ElectionRecord | undefined {
    return value(decodeElection(e.value));
  }

  /**
   * Leads while etcd vouches for the lease (with a margin) and the copy of the group — at a revision
   * that includes this replica's own candidacy — shows no older candidate. A candidate older than ours
   * can never appear later (etcd revisions only grow), so that is safe to act on.
   */
  private evaluate(): void {
    if (this.stopped) return;
    const c = this.candidacy;
    const oldest = this.leaderEntry();
    const mine = c ? this.mirror.get(c.key) : undefined;
    const lease = this.session.remainingMs() > this.marginMs;
    const elected =
      c !== undefined &&
      this.session.leaseId() === c.leaseId &&
      lease &&
      this.mirror.revision() >= c.token &&
      mine !== undefined &&
      mine.createRevision === c.token &&
      oldest?.key === c.key;
    if (elected && !this.leading && c) this.promote(c);
    else if (!elected && this.leading) {
      const why = !lease
        ? `etcd has not confirmed this replica's lease for too long (it may have expired)`
        : mine === undefined || mine.createRevision !== c?.token
          ? 'its election key is gone (the lease expired or was revoked)'
          : 'an older candidate leads';
      this.demote(why);
    }
    this.notifyStatus();
  }

  private promote(c: Candidacy): void {
    const fence: Fence = { key: c.key, token: c.token, leaseId: c.leaseId };
    const writer = new DecisionWriter({
      group: this.group,
      fence,
      replica: this.replicaId,
      memoryIntervalMs: this.opts.memoryIntervalMs,
      storedPlan: (service) => this.storedPlan(service),
      onFencedOut: (why) => this.fencedOut(why),
      clock: this.opts.clock,
      scheduler: this.opts.scheduler,
      logger: this.opts.logger,
    });
    this.leading = { fence, writer, sinceMs: this.opts.clock.nowMs() };
    const resumed: string[] = [];
    const controller = this.opts.controller;
    if (controller) {
      // Resume from the group's memory of every service: no hold window, drain or pre-warm starts
      // over (they keep their own times). The decision is taken as made now: while no replica led,
      // nobody observed demand, so the gap is not time for the smoothed signals to forget over — a
      // single noisy report right after the takeover must not weigh as much as the seconds before it.
      controller.forget();
      const now = this.opts.clock.nowMs();
      for (const svc of this.services()) {
        const mem = value(decodeController(this.mirror.get(keys.controller(svc.name))?.value ?? '', svc.name));
        if (!mem || !svc.capacity) continue;
        try {
          controller.seed(svc.name, { ...mem.decision, atMs: Math.max(mem.decision.atMs, now) }, mem.asOfMs);
          resumed.push(`${svc.name} (memory ${Math.max(0, now - mem.asOfMs)} ms old)`);
        } catch (err) {
          this.log.warn({ service: svc.name, error: errorMessage(err) }, 'cannot resume from the stored controller memory');
        }
      }
    }
    const actuator = this.opts.actuator;
    if (actuator) {
      for (const svc of this.services()) {
        const rec = this.autoscalerRecord(svc.name);
        if (!rec || !svc.capacity) continue;
        this.sentAt.set(svc.name, rec.sentAtMs);
        actuator.adopt(svc.name, { intended: rec.intended, ...(rec.applied ? { current: rec.applied } : {}), sentAtMs: rec.sentAtMs });
      }
      actuator.startReconciling();
    }
    controller?.start();
    this.log.warn({ token: c.token.toString(), resumed }, 'this replica now leads the group: it decides and drives Modal');
    for (const [service, a] of this.resolved) {
      const shared = this.sharedModalAddress(service);
      if (!sameAddresses(shared, a.hostname, a.addresses)) void this.shareModalAddress(service, a.hostname, a.addresses);
    }
  }

  private demote(why: string): void {
    const was = this.leading;
    if (!was) return;
    this.leading = undefined;
    was.writer.close();
    this.opts.controller?.stop();
    this.opts.controller?.forget();
    this.opts.actuator?.release();
    this.log.warn(
      { token: was.fence.token.toString(), why },
      'this replica no longer leads the group: it stopped deciding and driving Modal',
    );
    this.notifyStatus();
  }

  /**
   * etcd refused a fenced write: step down at once, whatever the copy of the group says. The election
   * key this replica stood with is gone; it stands again (at the back of the line) under the lease it
   * has, or under the next one once etcd3 reports this one lost.
   */
  private fencedOut(why: string): void {
    this.demote(why);
    this.candidacy = undefined;
    const leaseId = this.session.leaseId();
    if (leaseId !== undefined && this.joined) void this.stand(leaseId);
  }

  // --- the leader's fenced writes besides decisions ---

  private gate(): ActuationGate {
    return {
      permit: async (service: string, settings: AutoscalerSettings): Promise<boolean> => {
        const lead = this.leading;
        if (!lead || this.session.remainingMs() <= this.marginMs) return false;
        const sentAtMs = this.opts.clock.nowMs();
        const rec: AutoscalerRecord = { leader: this.replicaId, epoch: lead.fence.token.toString(), intended: pick(settings), sentAtMs };
        const outcome = await fencedCommit(this.group, lead.fence, [{ put: keys.autoscaler(service), value: encodeRecord(rec) }]);
        if (outcome.kind === 'fenced-out') {
          this.fencedOut(`etcd refused the autoscaler intent for ${service}: another replica leads now`);
          return false;
        }
        if (outcome.kind !== 'written') return false;
        this.sentAt.set(service, sentAtMs);
        // Re-checked after the write: a replica paused in between must not send.
        return this.leading === lead && this.session.remainingMs() > this.marginMs;
      },
      applied: (service: string, intended: AutoscalerSettings, current: AutoscalerSettings): void => {
        const lead = this.leading;
        if (!lead) return;
        const rec: AutoscalerRecord = {
          leader: this.replicaId,
          epoch: lead.fence.token.toString(),
          intended: pick(intended),
          sentAtMs: this.sentAt.get(service) ?? this.opts.clock.nowMs(),
          applied: { ...current },
          appliedAtMs: this.opts.clock.nowMs(),
        };
        void fencedCommit(this.group, lead.fence, [{ put: keys.autoscaler(service), value: encodeRecord(rec) }]);
      },
    };
  }

  private async shareModalAddress(service: string, hostname: string, addresses: readonly string[]): Promise<void> {
    const lead = this.leading;
    if (!lead) return;
    const rec: ModalAddressRecord = {
      leader: this.replicaId,
      epoch: lead.fence.token.toString(),
      hostname,
      addresses: [...addresses].sort(),
      sinceMs: this.opts.clock.nowMs(),
    };
    const outcome = await fencedCommit(this.group, lead.fence, [{ put: keys.modalAddress(service), value: encodeRecord(rec) }]);
    if (outcome.kind === 'fenced-out') this.fencedOut(`etcd refused the Modal address for ${service}: another replica leads now`);
  }

  /** The leader removes overrides past their expiry (every replica already stopped running them on its own clock). */
  private expireOverrides(): void {
    const lead = this.leading;
    if (!lead) return;
    const now = this.opts.clock.nowMs();
    for (const e of this.mirror.list(`${KeyFamily.Overrides}/`)) {
      const o = value(decodeOverride(e.value));
      if (o && o.expiresAtMs > now) continue;
      void fencedCommit(this.group, lead.fence, [{ delete: e.key, ifModRevision: e.modRevision }]);
    }
  }

  // --- reading the copy ---

  private services(): readonly ServiceConfig[] {
    return this.opts.publisher.currentServices();
  }

  private storedPlan(service: string): TrafficPlan | undefined {
    const e = this.mirror.get(keys.plan(service));
    return e ? value(decodePlan(e.value, service))?.plan : undefined;
  }

  private autoscalerRecord(service: string): AutoscalerRecord | undefined {
    const e = this.mirror.get(keys.autoscaler(service));
    return e ? value(decodeAutoscaler(e.value)) : undefined;
  }

  private sharedModalAddress(service: string): ModalAddressRecord | undefined {
    const e = this.mirror.get(keys.modalAddress(service));
    return e ? value(decodeModalAddress(e.value)) : undefined;
  }

  // --- status ---

  private etcdConnected(): boolean {
    return this.mirror.connected() && this.session.remainingMs() > 0;
  }

  private degraded(etcdConnected: boolean, leaderId: string | undefined, members: readonly ReplicaMember[]): string | undefined {
    if (!etcdConnected) {
      const since = this.disconnectedSinceMs ?? this.opts.clock.nowMs();
      return `etcd unreachable for ${Math.round((this.opts.clock.nowMs() - since) / 1000)} s: serving the last plan seen, not deciding`;
    }
    if (leaderId === undefined) return 'the group has no leader: plans stay as they are until one is elected';
    const other = members.find((m) => !m.sameConfig);
    if (other) return `replica ${other.replicaId} serves a different services configuration: resources differ between replicas`;
    return undefined;
  }

  private notifyStatus(): void {
    const connected = this.etcdConnected();
    if (connected) this.disconnectedSinceMs = undefined;
    else this.disconnectedSinceMs ??= this.opts.clock.nowMs();
    const s = this.status();
    const key = JSON.stringify([s.leaderId, s.isLeader, s.fencingToken, s.etcdConnected, s.degraded === undefined, s.members]);
    if (key === this.lastStatusKey) return;
    const before = this.lastStatusKey;
    this.lastStatusKey = key;
    if (before !== '')
      this.log.info({ leader: s.leaderId, leading: s.isLeader, etcdConnected: s.etcdConnected, degraded: s.degraded }, 'replica status');
    this.statusListeners.emit();
  }
}

function value<T>(d: Decoded<T>): T | undefined {
  return d.ok ? d.value : undefined;
}

function pick(s: AutoscalerSettings): { minContainers?: number } {
  return s.minContainers === undefined ? {} : { minContainers: s.minContainers };
}

/** Whether the group already shares exactly these addresses for this hostname. */
function sameAddresses(shared: ModalAddressRecord | undefined, hostname: string, addresses: readonly string[]): boolean {
  return shared !== undefined && shared.hostname === hostname && shared.addresses.join(',') === [...addresses].sort().join(',');
}
