// Pure rendering for `spillway watch`: State → lines. The terminal view draws bars per service; the
// plain view writes one line per service per update (for pipes, logs and `grep`).
import type { ServiceState__Output } from '../generated/spillway/admin/v1/ServiceState.js';
import type { State__Output } from '../generated/spillway/admin/v1/State.js';

export interface RenderOptions {
  /** Terminal width in columns; bars shrink to fit. */
  width: number;
  /** Where the state came from, for the header. */
  admin: string;
  /** ANSI colours (bars and mode). */
  color: boolean;
}

const ESC = '\x1b[';
const paint = (on: boolean, code: string, s: string): string => (on ? `${ESC}${code}m${s}${ESC}0m` : s);

export const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

export function fmtAge(ms: number | undefined): string {
  if (ms === undefined) return 'never';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return m < 60 ? `${m}m${String(s).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A bar of `width` cells, filled in proportion to fraction (clamped to 0–1), with eighth-cell resolution. */
export function bar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const eighths = Math.round(f * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  const partial = part > 0 ? (' ▏▎▍▌▋▊▉'[part] ?? '') : '';
  return ('█'.repeat(full) + partial).padEnd(width, '·');
}

/** The admin API's enum names in the words the rest of Spillway uses: MODE_FAIL_SAFE → fail-safe. */
export const modeText = (mode: string): string =>
  mode
    .replace(/^MODE_/, '')
    .toLowerCase()
    .replace(/_/g, '-');
const causeText = (cause: string): string => cause.replace(/^CAUSE_/, '').toLowerCase();

const MODE_COLOR: Record<string, string> = {
  'in-house': '32',
  spilling: '33',
  draining: '36',
  shedding: '31',
  'fail-safe': '35',
  override: '1;35',
  static: '2',
};

function syncSummary(state: State__Output): string {
  const counts = new Map<string, number>();
  for (const e of state.envoys) {
    const worst = e.types.some((t) => t.status === 'ERROR')
      ? 'ERROR'
      : e.types.some((t) => t.status === 'STALE')
        ? 'STALE'
        : e.types.every((t) => t.status === 'SYNCED')
          ? 'SYNCED'
          : 'NOT_SENT';
    counts.set(worst, (counts.get(worst) ?? 0) + 1);
  }
  const parts = [...counts.entries()].sort().map(([k, n]) => `${k} ${n}`);
  return `${state.envoys.length} envoy${state.envoys.length === 1 ? '' : 's'}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

function serviceLines(s: ServiceState__Output, opts: RenderOptions, nowMs: number): string[] {
  const c = opts.color;
  const barWidth = Math.max(10, Math.min(50, opts.width - 34));
  const shares = s.shares ?? { in_house: 1, modal: 0, dropped: 0 };
  const w = s.weights;
  const mode = paint(c, MODE_COLOR[modeText(s.service_mode)] ?? '0', modeText(s.service_mode));
  const lines = [`${paint(c, '1', s.name)}  ${mode}  (${s.source.toLowerCase()})`];
  const row = (label: string, frac: number, color: string, extra: string): string =>
    `  ${label.padEnd(8)} ${paint(c, color, bar(frac, barWidth))} ${pct(frac).padStart(6)}${extra}`;
  lines.push(row('in-house', shares.in_house, '32', w ? `  w=${w.in_house}` : ''));
  lines.push(row('modal', shares.modal, '33', w ? `  w=${w.modal}${w.modal_endpoint_health === 'DEGRADED' ? ' DEGRADED' : ''}` : ''));
  if (shares.dropped > 0) lines.push(row('dropped', shares.dropped, '31', ''));
  lines.push(`  reason: ${s.reason}`);
  if (s.override) {
    const d = s.decision;
    lines.push(
      `  override: ${pct(s.override.share)} Modal, ${fmtAge(Math.max(0, s.override.expires_at_unix_ms - nowMs))} left` +
        (d ? `; controller wants ${pct(d.shares?.modal ?? 0)} (${modeText(d.decision_mode)})` : ''),
    );
  }
  const m = s.modal_stats;
  const modal = !m?.observed
    ? s.controlled && m && !m.looked_up
      ? `modal function not looked up yet${m.consecutive_failures > 0 ? ` (×${m.consecutive_failures} failed)` : ''}`
      : m && m.consecutive_failures > 0
        ? `modal stats failing ×${m.consecutive_failures}: ${m.last_error}`
        : 'modal stats: none'
    : `modal runners ${m.runners} backlog ${m.backlog} (${fmtAge(m.age_ms)} old${m.consecutive_failures > 0 ? `, failing ×${m.consecutive_failures}` : ''})`;
  const cordoned = s.in_house.filter((e) => e.health !== 'HEALTHY').map((e) => `${e.endpoint} ${e.health}`);
  lines.push(
    `  in-house util ${pct(s.in_house_utilization)} of ${s.in_house_capacity} · offered ${s.offered_rps.toFixed(1)} rps · ${modal}`,
  );
  if (cordoned.length > 0) lines.push(`  cordoned: ${cordoned.join(', ')}`);
  const cost = s.modal_cost;
  if (cost) {
    lines.push(
      `  modal cost ${dollars(cost.dollars_per_hour)}/h now · ${dollars(cost.dollars_since_start)} since start · ${dollars(cost.dollars_today)} today (UTC)`,
    );
  }
  const notServing = s.in_house
    .filter((e) => e.serving === 'HOST_UNUSED' || e.serving === 'HOST_FAILING')
    .map((e) => `${e.endpoint} ${e.serving === 'HOST_UNUSED' ? 'unused by Envoy' : 'failing'}`);
  if (notServing.length > 0) lines.push(`  not serving: ${notServing.join(', ')}`);
  const probeDown = s.in_house.filter((e) => e.probe === 'PROBE_DOWN').map((e) => e.endpoint);
  if (probeDown.length > 0) lines.push(`  probe down: ${probeDown.join(', ')}`);
  const stale = (s.endpoint_sources ?? [])
    .filter((src) => src.health !== 'SOURCE_OK')
    .map((src) => `${src.source}: ${src.problem || 'pending'}`);
  if (stale.length > 0) lines.push(`  endpoint sources: ${stale.join('; ')}`);
  return lines;
}

/** Replicas: who leads, and whether this replica is degraded. */
export function replicationText(state: State__Output): string | undefined {
  const r = state.replication;
  if (!r) return undefined;
  const leader = r.leader_id ? (r.is_leader ? `${r.leader_id} (this replica)` : r.leader_id) : 'none';
  return `replica ${r.replica_id} of ${r.members.length} · leader ${leader}${r.degraded ? ` · DEGRADED: ${r.degraded}` : ''}`;
}

/** Dollars with cents, or four significant digits below a cent (per-second prices are tiny). */
export const dollars = (x: number): string => (Math.abs(x) >= 0.01 || x === 0 ? `$${x.toFixed(2)}` : `$${x.toPrecision(2)}`);

/** The terminal view: a header, then a block per service. */
export function renderState(state: State__Output, opts: RenderOptions): string[] {
  const at = new Date(state.at_unix_ms).toISOString().slice(11, 19);
  const replication = replicationText(state);
  const lines = [
    `spillway watch · ${opts.admin} · ${at} · ${causeText(state.state_cause)} · ${state.connected_streams} ADS stream${state.connected_streams === 1 ? '' : 's'} · ${syncSummary(state)}`,
    ...(replication ? [paint(opts.color, state.replication?.degraded ? '31' : '2', replication)] : []),
    '',
  ];
  for (const s of state.services) lines.push(...serviceLines(s, opts, state.at_unix_ms), '');
  if (state.publisher && state.publisher.rejected > 0)
    lines.push(`publisher: ${state.publisher.rejected} refused; last: ${state.publisher.last_errors[0] ?? ''}`);
  return lines.map((l) => truncate(l, opts.width));
}

/** The plain view: one line per service. */
export function renderPlain(state: State__Output): string[] {
  const at = new Date(state.at_unix_ms).toISOString();
  return state.services.map((s) => {
    const sh = s.shares ?? { in_house: 1, modal: 0, dropped: 0 };
    const m = s.modal_stats;
    const fields = [
      at,
      causeText(state.state_cause),
      s.name,
      `mode=${modeText(s.service_mode)}`,
      `source=${s.source}`,
      `in_house=${pct(sh.in_house)}`,
      `modal=${pct(sh.modal)}`,
      `dropped=${pct(sh.dropped)}`,
      `weights=${s.weights?.in_house ?? 0}/${s.weights?.modal ?? 0}`,
      `util=${pct(s.in_house_utilization)}`,
      `offered_rps=${s.offered_rps.toFixed(1)}`,
      `runners=${m?.observed ? m.runners : '-'}`,
      `backlog=${m?.observed ? m.backlog : '-'}`,
      `cost_per_hour=${s.modal_cost ? dollars(s.modal_cost.dollars_per_hour) : '-'}`,
      `cost_today=${s.modal_cost ? dollars(s.modal_cost.dollars_today) : '-'}`,
      ...(state.replication ? [`leader=${state.replication.leader_id || '-'}`, `replica=${state.replication.replica_id}`] : []),
      `reason=${JSON.stringify(s.reason)}`,
    ];
    return fields.join(' ');
  });
}

/** Cuts a line to width visible columns, leaving ANSI sequences whole. */
export function truncate(line: string, width: number): string {
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      if (end > i) {
        out += line.slice(i, end + 1);
        i = end;
        continue;
      }
    }
    if (visible >= width) continue;
    out += line[i];
    visible++;
  }
  return out;
}
