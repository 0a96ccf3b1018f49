// A pure simulation of one Modal function's containers and autoscaler, driven only by an injected
// Clock and Scheduler so tests can run it in virtual time. The HTTP and gRPC glue sit on top of it.
// Behaviour follows Modal's docs (guide/scale, guide/concurrent-inputs, guide/cold-start,
// examples/http_server): containers start after a cold start, take up to max_inputs concurrent inputs,
// the autoscaler aims at target_inputs per container, keeps buffer_containers idle while the function
// is active, never goes below min_containers or above max_containers, and stops a container once it
// has been idle for scaledown_window.
import type { Clock } from '../../src/core/clock.js';
import type { Cancel, Scheduler } from '../../src/core/scheduler.js';

/** How the endpoint behaves with no live container: a Function web endpoint queues, an HTTP Server 503s. */
export type EndpointMode = 'function' | 'http-server';

export interface SimSettings {
  minContainers: number;
  maxContainers: number;
  bufferContainers: number;
  scaledownWindowMs: number;
}

export interface FunctionSimConfig extends SimSettings {
  mode: EndpointMode;
  /** @modal.concurrent(max_inputs): hard per-container limit. */
  maxInputs: number;
  /** @modal.concurrent(target_inputs): what the autoscaler sizes for. */
  targetInputs: number;
  coldStartMs: number;
}

export interface SubmitRequest {
  /** Time the input runs once on a container; Infinity holds it until release() or cancel() (a WebSocket). */
  serviceMs: number;
  /** Modal-Session-Id: biases routing to one container while the replica set is stable. */
  sessionId?: string;
  /** Called when the input starts on a container. */
  onStart?: (containerId: string) => void;
}

export type InputOutcome =
  | { kind: 'done'; inputId: string; containerId: string; enqueuedAtMs: number; startedAtMs: number; finishedAtMs: number }
  | { kind: 'rejected'; inputId: string; reason: 'no-live-replica' }
  | { kind: 'cancelled'; inputId: string };

export interface InputTicket {
  id: string;
  done: Promise<InputOutcome>;
}

export interface SimStats {
  backlog: number;
  /** Containers that exist (starting or live): Modal's num_total_tasks. */
  runners: number;
  runningInputs: number;
  /** Inputs the live containers can still take before reaching max_inputs. */
  inputHeadroom: number;
}

export interface ContainerView {
  id: string;
  state: 'starting' | 'live';
  startedAtMs: number;
  liveAtMs: number;
  running: number;
  idleSinceMs?: number;
}

export interface BillingView {
  /** Exact container lifetime, cold start included, summed over every container ever started. */
  containerMs: number;
  /** Billed container-seconds: each container's lifetime rounded up to a whole second. */
  containerSeconds: number;
  containersStarted: number;
  containersStopped: number;
  /** Time inputs held a container slot; a cancelled input stops adding to it when cancelled. */
  inputMs: number;
  /** Inputs whose client went away before their result (cancelled, as Modal does on http.disconnect). */
  cancelledInputs: number;
}

interface Container {
  id: string;
  startedAtMs: number;
  liveAtMs: number;
  live: boolean;
  running: number;
  idleSinceMs?: number;
  cancelTimer: Cancel;
}

interface PendingInput {
  id: string;
  serviceMs: number;
  sessionId?: string;
  onStart?: (containerId: string) => void;
  enqueuedAtMs: number;
  resolve: (o: InputOutcome) => void;
}

interface RunningInput {
  input: PendingInput;
  container: Container;
  startedAtMs: number;
  cancel: Cancel;
}

export class AutoscalerSim {
  private readonly containers = new Map<string, Container>();
  private readonly backlog: PendingInput[] = [];
  private readonly inFlight = new Map<string, RunningInput>();
  private settings: SimSettings;
  private coldStartOverrideMs: number | undefined;
  private inputSeq = 0;
  private containerSeq = 0;
  private closedMs = 0;
  private closedBilledSeconds = 0;
  private started = 0;
  private stopped = 0;
  private closed = false;
  private inputMsDone = 0;
  private cancelledInputs = 0;

  constructor(
    readonly config: FunctionSimConfig,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
    private readonly idPrefix = 'ta-',
  ) {
    this.settings = {
      minContainers: config.minContainers,
      maxContainers: config.maxContainers,
      bufferContainers: config.bufferContainers,
      scaledownWindowMs: config.scaledownWindowMs,
    };
    this.reconcile(0);
  }

  /** Sends one input. With no live replica an HTTP Server rejects it at once, but still scales up. */
  submit(req: SubmitRequest): InputTicket {
    const id = `in-${++this.inputSeq}`;
    if (this.closed) return { id, done: Promise.resolve({ kind: 'cancelled', inputId: id }) };
    if (this.config.mode === 'http-server' && this.liveContainers().length === 0) {
      this.reconcile(1);
      return { id, done: Promise.resolve({ kind: 'rejected', inputId: id, reason: 'no-live-replica' }) };
    }
    let resolve!: (o: InputOutcome) => void;
    const done = new Promise<InputOutcome>((r) => (resolve = r));
    const input: PendingInput = { id, serviceMs: Math.max(0, req.serviceMs), enqueuedAtMs: this.clock.nowMs(), resolve };
    if (req.sessionId !== undefined) input.sessionId = req.sessionId;
    if (req.onStart) input.onStart = req.onStart;
    this.backlog.push(input);
    this.dispatch();
    this.reconcile(0);
    return { id, done };
  }

  /**
   * The client went away: a queued input leaves the queue, a running one stops and frees its slot
   * (Modal sends the app http.disconnect). Returns false when the input already finished.
   */
  cancel(inputId: string): boolean {
    const queued = this.backlog.findIndex((i) => i.id === inputId);
    if (queued >= 0) {
      const [input] = this.backlog.splice(queued, 1);
      this.cancelledInputs++;
      input?.resolve({ kind: 'cancelled', inputId });
      this.reconcile(0);
      return true;
    }
    const running = this.inFlight.get(inputId);
    if (!running) return false;
    this.cancelledInputs++;
    this.finish(running);
    running.input.resolve({ kind: 'cancelled', inputId });
    this.dispatch();
    this.reconcile(0);
    return true;
  }

  /** Ends a held input (serviceMs Infinity, e.g. a WebSocket that closed) as done. */
  release(inputId: string): void {
    const running = this.inFlight.get(inputId);
    if (!running) return;
    this.complete(running);
  }

  /** Function.update_autoscaler: unspecified fields keep their current value. */
  updateSettings(patch: Partial<SimSettings>): SimSettings {
    const next = { ...this.settings };
    for (const k of Object.keys(patch) as (keyof SimSettings)[]) {
      const v = patch[k];
      if (v !== undefined) next[k] = v;
    }
    this.settings = next;
    this.reconcile(0);
    return this.currentSettings();
  }

  currentSettings(): SimSettings {
    return { ...this.settings };
  }

  /** Fault hook: cold starts take this long until cleared with undefined. */
  setColdStartOverride(ms: number | undefined): void {
    this.coldStartOverrideMs = ms;
  }

  stats(): SimStats {
    let runningInputs = 0;
    let inputHeadroom = 0;
    for (const c of this.containers.values()) {
      runningInputs += c.running;
      if (c.live) inputHeadroom += this.config.maxInputs - c.running;
    }
    return { backlog: this.backlog.length, runners: this.containers.size, runningInputs, inputHeadroom };
  }

  containerViews(): ContainerView[] {
    return [...this.containers.values()].map((c) => {
      const v: ContainerView = {
        id: c.id,
        state: c.live ? 'live' : 'starting',
        startedAtMs: c.startedAtMs,
        liveAtMs: c.liveAtMs,
        running: c.running,
      };
      if (c.idleSinceMs !== undefined) v.idleSinceMs = c.idleSinceMs;
      return v;
    });
  }

  billing(): BillingView {
    const now = this.clock.nowMs();
    let ms = this.closedMs;
    let secs = this.closedBilledSeconds;
    for (const c of this.containers.values()) {
      ms += now - c.startedAtMs;
      secs += billedSeconds(now - c.startedAtMs);
    }
    let inputMs = this.inputMsDone;
    for (const r of this.inFlight.values()) inputMs += now - r.startedAtMs;
    return {
      containerMs: ms,
      containerSeconds: secs,
      containersStarted: this.started,
      containersStopped: this.stopped,
      inputMs,
      cancelledInputs: this.cancelledInputs,
    };
  }

  /** Stops everything; inputs not yet finished resolve as cancelled. */
  close(): void {
    this.closed = true;
    for (const r of this.inFlight.values()) {
      r.cancel();
      r.input.resolve({ kind: 'cancelled', inputId: r.input.id });
    }
    this.inFlight.clear();
    for (const input of this.backlog.splice(0)) input.resolve({ kind: 'cancelled', inputId: input.id });
    for (const c of [...this.containers.values()]) this.stop(c);
  }

  /** Containers the current load calls for, within min/max. extraDemand counts rejected requests. */
  private desiredContainers(extraDemand: number): number {
    const { minContainers, maxContainers, bufferContainers } = this.settings;
    const demand = this.stats().runningInputs + this.backlog.length + extraDemand;
    const forLoad = demand > 0 ? Math.ceil(demand / Math.max(1, this.config.targetInputs)) + bufferContainers : 0;
    return Math.min(maxContainers, Math.max(minContainers, forLoad));
  }

  private reconcile(extraDemand: number): void {
    if (this.closed) return;
    const desired = this.desiredContainers(extraDemand);
    for (let n = this.containers.size; n < desired; n++) this.startContainer();
    const now = this.clock.nowMs();
    let excess = this.containers.size - desired;
    const idle = this.liveContainers()
      .filter((c) => c.running === 0 && c.idleSinceMs !== undefined)
      .sort((a, b) => (a.idleSinceMs as number) - (b.idleSinceMs as number));
    for (const c of idle) {
      const expiresAt = (c.idleSinceMs as number) + this.settings.scaledownWindowMs;
      if (expiresAt <= now) {
        // Expired but still wanted (min_containers, buffer): any later event re-evaluates it.
        if (excess > 0) {
          this.stop(c);
          excess--;
        }
      } else {
        // Re-check when this container's idle window ends; the load may have dropped by then.
        c.cancelTimer();
        c.cancelTimer = this.scheduler.after(expiresAt - now, () => this.reconcile(0));
      }
    }
  }

  private startContainer(): void {
    const now = this.clock.nowMs();
    const coldStartMs = this.coldStartOverrideMs ?? this.config.coldStartMs;
    const c: Container = {
      id: `${this.idPrefix}${++this.containerSeq}`,
      startedAtMs: now,
      liveAtMs: now + coldStartMs,
      live: false,
      running: 0,
      cancelTimer: () => {},
    };
    c.cancelTimer = this.scheduler.after(coldStartMs, () => {
      c.live = true;
      c.idleSinceMs = this.clock.nowMs();
      this.dispatch();
      this.reconcile(0);
    });
    this.containers.set(c.id, c);
    this.started++;
  }

  private stop(c: Container): void {
    c.cancelTimer();
    this.containers.delete(c.id);
    const lifetime = this.clock.nowMs() - c.startedAtMs;
    this.closedMs += lifetime;
    this.closedBilledSeconds += billedSeconds(lifetime);
    this.stopped++;
  }

  private liveContainers(): Container[] {
    return [...this.containers.values()].filter((c) => c.live);
  }

  /** Moves inputs from the backlog onto containers, in arrival order. */
  private dispatch(): void {
    while (this.backlog.length > 0) {
      const input = this.backlog[0] as PendingInput;
      const c = this.pickContainer(input.sessionId);
      if (!c) return;
      this.backlog.shift();
      this.run(input, c);
    }
  }

  private pickContainer(sessionId: string | undefined): Container | undefined {
    const live = this.liveContainers();
    if (sessionId !== undefined && live.length > 0) {
      // Rendezvous hashing: each session's favourite container only changes when the set does.
      const favourite = live.reduce((best, c) => (hashOf(sessionId, c.id) > hashOf(sessionId, best.id) ? c : best));
      if (favourite.running < this.config.maxInputs) return favourite;
    }
    const byLoad = live.slice().sort((a, b) => a.running - b.running || a.startedAtMs - b.startedAtMs);
    // Fill to target first; burst towards max_inputs only when every container is at target.
    return byLoad.find((c) => c.running < this.config.targetInputs) ?? byLoad.find((c) => c.running < this.config.maxInputs);
  }

  private run(input: PendingInput, c: Container): void {
    const startedAtMs = this.clock.nowMs();
    c.running++;
    delete c.idleSinceMs;
    c.cancelTimer();
    const running: RunningInput = { input, container: c, startedAtMs, cancel: () => {} };
    this.inFlight.set(input.id, running);
    if (Number.isFinite(input.serviceMs)) {
      // Node may run a timer a millisecond before the system clock says it is due (it counts from
      // the event loop's cached time): an input runs at least its service time by the clock its
      // times are reported with, so re-arm for what is left.
      const due = startedAtMs + input.serviceMs;
      const arm = (ms: number): void => {
        running.cancel = this.scheduler.after(ms, () => {
          const left = due - this.clock.nowMs();
          if (left > 0) arm(left);
          else this.complete(running);
        });
      };
      arm(input.serviceMs);
    }
    input.onStart?.(c.id);
  }

  /** The input ran to its end: it resolves done and its slot goes to the next input. */
  private complete(running: RunningInput): void {
    this.finish(running);
    running.input.resolve({
      kind: 'done',
      inputId: running.input.id,
      containerId: running.container.id,
      enqueuedAtMs: running.input.enqueuedAtMs,
      startedAtMs: running.startedAtMs,
      finishedAtMs: this.clock.nowMs(),
    });
    this.dispatch();
    this.reconcile(0);
  }

  /** Frees the input's slot and books its time. */
  private finish(running: RunningInput): void {
    running.cancel();
    this.inFlight.delete(running.input.id);
    this.inputMsDone += this.clock.nowMs() - running.startedAtMs;
    const c = running.container;
    c.running--;
    if (c.running === 0) c.idleSinceMs = this.clock.nowMs();
  }
}

/** Modal bills container time per second: a started second counts whole. */
export function billedSeconds(lifetimeMs: number): number {
  return Math.ceil(Math.max(0, lifetimeMs) / 1000);
}

/**
 * The rendezvous weight of a container for a session: FNV-1a over "session|container", then
 * MurmurHash3's finaliser, so ids that differ in their last characters still spread evenly.
 */
export function hashOf(sessionId: string, containerId: string): number {
  let h = 0x811c9dc5;
  const s = `${sessionId}|${containerId}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
