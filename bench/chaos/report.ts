// The chaos run as a table for RELIABILITY.md: per cell, what was sent and how it ended (deliberate
// drops apart from everything else), time to recover, the cell's own figures, and its criteria.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { findEnvoyBin } from '../../tools/envoy/envoy-bin.js';
import type { CellResult } from './session.js';

export interface Machine {
  cores: number;
  cpu: string;
  node: string;
  envoy: string;
  /** 1-minute load average when the run started and ended. */
  loadStart: number;
  loadEnd?: number;
}

export function machine(): Machine {
  let envoy = 'unknown';
  try {
    envoy = /version: [0-9a-f]+\/([^/\s]+)/.exec(execFileSync(findEnvoyBin(), ['--version'], { encoding: 'utf8' }))?.[1] ?? envoy;
  } catch {
    // reported as unknown
  }
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, envoy, loadStart: round1(loadavg()[0]!) };
}

export function finish(m: Machine): Machine {
  return { ...m, loadEnd: round1(loadavg()[0]!) };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

export function renderMarkdown(results: readonly CellResult[], m: Machine, command: string): string {
  const lines: string[] = [];
  lines.push(
    `Command: \`${command}\`. Machine: ${m.cores} cores (${m.cpu}), Node ${m.node}, Envoy ${m.envoy}; load average ${m.loadStart} at the start, ${m.loadEnd ?? '?'} at the end.`,
  );
  lines.push('');
  lines.push('| cell | requests | deliberate drops | other failures | time to recover | criteria |');
  lines.push('|---|---:|---:|---:|---|---|');
  for (const r of results) {
    const failed = r.checks.filter((c) => !c.ok);
    const verdict =
      failed.length === 0 ? `all ${r.checks.length} met` : `**${failed.length} not met**: ${failed.map((c) => c.what).join('; ')}`;
    const recovery = r.recoveryMs === null ? '—' : `${(r.recoveryMs / 1000).toFixed(1)} s (${r.recoveryMeaning})`;
    lines.push(`| ${r.cell} | ${r.requests.sent} | ${r.requests.deliberateDrops} | ${r.requests.failures} | ${recovery} | ${verdict} |`);
  }
  lines.push('');
  lines.push('Per cell, the figures behind the table (times in ms, shares as fractions):');
  lines.push('');
  for (const r of results) {
    const figures = Object.entries(r.figures)
      .filter(([k]) => k !== 'error' && k !== 'reasonWhileDown')
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const targets = r.targets.map((t) => `${t.what}: ${t.value} (${t.met ? 'met' : 'not met'})`).join('; ');
    const failures = r.requests.failureSamples.length > 0 ? ` First failures: ${r.requests.failureSamples.slice(0, 2).join('; ')}.` : '';
    lines.push(`- **${r.cell}** (${r.windowS} s measured): ${figures}.${targets ? ` Target: ${targets}.` : ''}${failures}`);
  }
  return lines.join('\n');
}

export function renderLine(r: CellResult): string {
  const q = r.requests;
  const failed = r.checks.filter((c) => !c.ok);
  return (
    `${failed.length === 0 ? 'ok  ' : 'FAIL'} ${r.cell}: ${q.sent} requests (${q.inHouse} in-house, ${q.modal} Modal), ` +
    `${q.deliberateDrops} deliberate drops, ${q.failures} other failures; recovery ${r.recoveryMs ?? '—'} ms` +
    (failed.length ? `\n     not met: ${failed.map((c) => `${c.what}${c.detail ? ` (${c.detail})` : ''}`).join('; ')}` : '')
  );
}
