import { describe, expect, it } from 'vitest';
import { cells, renderCompare, verdictLines, type CompareResults } from '../../bench/compare/compare-report.js';
import type { RunResult } from '../../bench/fanout/fanout-run.js';

const run = (server: string, p99Ms: number, maxMs: number, cpuMsPerPush: number): RunResult =>
  ({
    server,
    streams: 100,
    protocol: 'sotw',
    p99Ms,
    maxMs,
    cpuMsPerPush,
    firstPushP99Ms: p99Ms,
    rssPerStream: 20_000,
    streamsLost: 0,
  }) as RunResult;

const results = (spillway: RunResult[], reference: RunResult[]): CompareResults => ({
  command: 'npm run bench:compare',
  startedAt: '2026-01-01T00:00:00Z',
  machine: { nproc: 2, cpuModel: 'test', node: 'v20', loadAvgStart: [1, 1, 1], loadAvgEnd: [1, 1, 1] },
  versions: { node: 'v20', go: 'go1', goControlPlane: 'v0.14.0', envoyApi: 'v1.40.0', grpcGo: 'v1' },
  options: { sizes: [100], protocols: ['sotw'], runs: spillway.length, pushes: 10, warmup: 5, services: 10, idleMs: 1000 },
  runs: { 'spillway/100/sotw': spillway, 'go-control-plane/100/sotw': reference },
});

describe('side-by-side report', () => {
  it('is ahead only when every metric’s median ratio is below 1, and says which ones are behind', () => {
    const ahead = results(
      [run('spillway', 10, 20, 5), run('spillway', 12, 22, 6), run('spillway', 11, 21, 5)],
      [run('go-control-plane', 20, 30, 10), run('go-control-plane', 18, 40, 9), run('go-control-plane', 19, 35, 9)],
    );
    expect(cells(ahead, 100, 'sotw').ahead).toBe(true);
    expect(cells(ahead, 100, 'sotw').metrics[0]).toMatchObject({ spillway: 11, reference: 19 });
    expect(verdictLines(ahead)).toEqual([]);

    const behind = results([run('spillway', 10, 50, 5)], [run('go-control-plane', 20, 30, 10)]);
    expect(cells(behind, 100, 'sotw').ahead).toBe(false);
    expect(verdictLines(behind)).toEqual(['N = 100 sotw: behind on last ACK']);
    const md = renderCompare(behind, 'bench/results/x.json', ['a note']);
    expect(md).toContain('| 100 | sotw | 10 / 20 (0.5×; 0.5–0.5×) | 50 / 30 (1.67×; 1.67–1.67×) | 5 / 10 (0.5×; 0.5–0.5×) |');
    expect(md).toContain('**behind**');
    expect(md).toContain('- a note');
  });
});
