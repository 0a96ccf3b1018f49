// Pure rendering of what a mutating verb changed, from Spillway's answer (not from what was asked).
import type { CordonResponse__Output } from '../generated/spillway/admin/v1/CordonResponse.js';
import type { ServiceState__Output } from '../generated/spillway/admin/v1/ServiceState.js';
import { fmtAge, modeText, pct } from './render-watch.js';
import { shortVersion } from './render-status.js';

export function renderCordon(res: CordonResponse__Output): string[] {
  const what = {
    HEALTHY: 'takes new requests again',
    DRAINING: 'takes no new requests',
    DEGRADED: 'is used only when the rest cannot serve',
  }[res.health as 'HEALTHY' | 'DRAINING' | 'DEGRADED'];
  return [
    `${res.service} ${res.endpoint}: ${res.health}, ${what ?? ''} (EDS version ${shortVersion(res.eds_version)})`.replace(', ,', ','),
  ];
}

/** The service after an override or its clearing: what is published now and why. */
export function renderServiceAfter(s: ServiceState__Output, nowMs: number): string[] {
  const shares = s.shares ?? { in_house: 1, modal: 0, dropped: 0 };
  const lines = [
    `${s.name}: ${modeText(s.service_mode)}, Modal ${pct(shares.modal)} · in-house ${pct(shares.in_house)}${shares.dropped > 0 ? ` · dropped ${pct(shares.dropped)}` : ''}`,
    `  reason: ${s.reason}`,
  ];
  if (s.override) lines.push(`  override expires in ${fmtAge(Math.max(0, s.override.expires_at_unix_ms - nowMs))}`);
  const d = s.decision;
  if (s.override && d)
    lines.push(`  the controller would choose Modal ${pct(d.shares?.modal ?? 0)} (${modeText(d.decision_mode)}): ${d.reason}`);
  return lines;
}
