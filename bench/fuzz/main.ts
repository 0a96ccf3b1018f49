// `npm run fuzz`: the abuse campaign at depth, against a Spillway secured as recommended, with real
// Envoys and traffic. Prints the figures as Markdown and writes them to bench/results/.
//   npm run fuzz -- --seed 7 --per-kind 5000 --churn 20000 --connections 2000
//   npm run fuzz -- --seed 7 --replay ads-delta:1234     (one case again, with its outcome)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CaseKind } from '../../tools/fuzz/cases.js';
import { runCases } from '../../tools/fuzz/run-cases.js';
import { REPO_ROOT } from '../../tools/repo.js';
import { runCampaign } from './campaign.js';
import { judge, renderReport } from './report.js';
import { startFuzzRig } from './rig.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '1' },
      'per-kind': { type: 'string', default: '5000' },
      churn: { type: 'string', default: '20000' },
      connections: { type: 'string', default: '2000' },
      'never-readers': { type: 'string', default: '6' },
      replay: { type: 'string' },
    },
  });
  const seed = Number(values.seed);
  const rig = await startFuzzRig();
  try {
    if (values.replay) {
      const [kind, index] = values.replay.split(':') as [CaseKind, string];
      const [outcome] = await runCases({
        seed,
        counts: {},
        only: { kind, index: Number(index) },
        xds: rig.xds,
        admin: { address: rig.admin, tls: rig.adminTls },
        identities: [rig.identity('fuzz-0')],
        target: {
          othersNode: 'envoy-sotw',
          services: ['echo'],
          endpoints: rig.inHouseEndpoints,
          adminToken: rig.adminToken,
          limits: { maxNames: 10_000, maxMessageBytes: 4 << 20, adminMaxMessageBytes: 64 << 10, maxReasonBytes: 256 },
        },
      });
      console.log(JSON.stringify(outcome, null, 2));
      return 0;
    }
    const argv = process.argv.slice(2).join(' ');
    const report = await runCampaign(rig, {
      seed,
      perKind: Number(values['per-kind']),
      churn: Number(values.churn),
      connections: Number(values.connections),
      neverReaders: Number(values['never-readers']),
      log: (l) => console.error(`fuzz: ${l}`),
    });
    const command = `npm run fuzz${argv ? ` -- ${argv}` : ''}`;
    console.log(renderReport(report, command));
    const verdict = judge(report);
    console.log(verdict.ok ? '\nverdict: OK' : `\nverdict: FAILED\n- ${verdict.problems.join('\n- ')}`);
    const dir = join(REPO_ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `fuzz-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ command, report, verdict }, null, 2));
    console.error(`fuzz: figures written to ${file}`);
    return verdict.ok ? 0 : 1;
  } finally {
    await rig.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
