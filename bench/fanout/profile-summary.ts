// Summarizes a V8 .cpuprofile (node --cpu-prof): self and total time per function, heaviest first.
//   npx tsx bench/fanout/profile-summary.ts FILE [--top 40] [--filter text]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '40' } }, allowPositionals: true });
const file = positionals[0];
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile');
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfUs = new Map<number, number>();
p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));

const label = (n: ProfileNode): string => {
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/work\/main\//, '').replace(/^.*node_modules\//, 'nm/');
  return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}:${n.callFrame.columnNumber + 1}`;
};
const self = new Map<string, number>();
const total = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  if (!n) continue;
  self.set(label(n), (self.get(label(n)) ?? 0) + us);
  // Total: credit every distinct frame on the stack once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    total.set(l, (total.get(l) ?? 0) + us);
  }
}
const all = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idle = [...selfUs].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
const top = Number(values.top);
const ms = (us: number): string => (us / 1000).toFixed(1).padStart(9);
process.stdout.write(`${file}: ${ms(all)} ms sampled, ${ms(all - idle)} ms busy\n\nself ms   total ms  function\n`);
for (const [l, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`${ms(us)} ${ms(total.get(l) ?? 0)}  ${l}\n`);
process.stdout.write(`\nby total (inclusive):\n`);
for (const [l, us] of [...total].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${ms(us)}  ${l}\n`);
