// The Grafana dashboard and the Prometheus rules in monitoring/: every query parses, every metric
// it reads exists in a real /metrics scrape of a running Spillway (or is recorded by the rules), and
// promtool accepts the rules and their unit tests (each alert fires when it should, and only then).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { AdsTestClient } from '../support/ads-client.js';
import { REPO_ROOT } from '../../tools/repo.js';
import { startAdminRig, type AdminRig } from '../admin/harness.js';
import { TypeUrl } from '../../src/xds/type-urls.js';

const RULES = join(REPO_ROOT, 'monitoring/prometheus/spillway.rules.yml');
const RULE_TESTS = join(REPO_ROOT, 'monitoring/prometheus/spillway.rules.test.yml');
const DASHBOARD = join(REPO_ROOT, 'monitoring/grafana/spillway-dashboard.json');

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
}

const rules: Rule[] = (parseYaml(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
}
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: Array<{ query?: unknown }> } };
const panels = dashboard.panels.filter((p) => p.type !== 'row');

/** The metric names a PromQL expression reads; throws on a syntax error. */
function metricNames(expr: string): string[] {
  const tree = parser.parse(expr);
  const names: string[] = [];
  const errors: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(`syntax error at ${node.from}: "${expr.slice(Math.max(0, node.from - 10), node.to + 10)}"`);
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) names.push(expr.slice(id.from, id.to));
      }
    },
  });
  if (errors.length > 0) throw new Error(`${expr}: ${errors.join('; ')}`);
  return names;
}

/** Metric families in a scrape, by their # TYPE lines. */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Whether a name a query reads is served: a family, a histogram's series, or a recorded rule. */
function served(name: string, fams: Map<string, string>): boolean {
  if (fams.has(name) || recorded.has(name)) return true;
  const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
  return base !== undefined && (fams.get(base) === 'histogram' || fams.get(base) === 'summary');
}

describe('monitoring/: dashboard and rules against a real /metrics scrape', () => {
  let rig: AdminRig;
  let fams: Map<string, string>;

  beforeAll(async () => {
    rig = await startAdminRig();
    // Some xDS activity, so every family has had a chance to appear.
    const ads = new AdsTestClient(`127.0.0.1:${rig.app.xdsPort}`);
    const node = { id: 'monitoring-node', cluster: 'test' };
    ads.send({ node, type_url: TypeUrl.Cluster });
    const [cds] = await ads.waitForResponses(1, TypeUrl.Cluster);
    ads.send({ node, type_url: TypeUrl.Cluster, version_info: cds!.version_info, response_nonce: cds!.nonce });
    await new Promise((r) => setTimeout(r, 100));
    fams = families(await (await fetch(`http://127.0.0.1:${rig.app.metricsPort}/metrics`)).text());
    ads.close();
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('the scrape has the families the rules are built on', () => {
    expect(fams.get('spillway_share_ratio')).toBe('gauge');
    expect(fams.get('spillway_xds_out_of_sync_seconds')).toBe('gauge');
    expect(fams.get('spillway_xds_publish_to_ack_seconds')).toBe('histogram');
    expect(fams.get('spillway_modal_cost_dollars_per_hour')).toBe('gauge');
    expect(fams.get('spillway_modal_cost_cap_dollars_per_hour')).toBe('gauge');
    expect(fams.size).toBeGreaterThan(30);
  });

  const check = (what: string, exprs: string[]): void => {
    const names = [...new Set(exprs.flatMap(metricNames))];
    expect(names.length, `${what} reads no metric`).toBeGreaterThan(0);
    expect(
      names.filter((n) => !served(n, fams)),
      `${what} reads metrics /metrics does not have`,
    ).toEqual([]);
  };

  describe.each(rules.map((r) => [r.alert ?? r.record!, r] as const))('rule %s', (_name, rule) => {
    it('parses and reads only metrics Spillway serves', () => {
      check(`rule ${rule.alert ?? rule.record}`, [rule.expr]);
    });
  });

  describe.each(panels.map((p) => [p.title, p] as const))('dashboard panel "%s"', (_title, panel) => {
    it('parses and reads only metrics Spillway serves', () => {
      const exprs = (panel.targets ?? []).map((t) => t.expr);
      expect(exprs.length).toBeGreaterThan(0);
      check(`panel "${panel.title}"`, exprs);
    });
  });

  it('the dashboard is importable: a data source variable, and a service variable from a real label', () => {
    expect(JSON.stringify(dashboard.templating)).toContain('label_values(spillway_share_ratio, service)');
    expect(panels.every((p) => JSON.stringify(p).includes('${datasource}'))).toBe(true);
  });
});

/** promtool from Debian's prometheus package; .ci/run installs it. */
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

describe('promtool', () => {
  const promtool = (args: string[]): Promise<{ code: number; out: string }> =>
    new Promise((resolve) => {
      execFile(PROMTOOL!, args, { cwd: join(REPO_ROOT, 'monitoring/prometheus') }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
    });
  const need = (ctx: { skip(note?: string): void }): void => {
    if (PROMTOOL) return;
    if (process.env['CI']) throw new Error('promtool is missing: .ci/run installs Debian\'s "prometheus" package, which ships it');
    console.log('promtool: skipped, not installed here (apt-get install prometheus; CI installs it)');
    ctx.skip('promtool not installed');
  };

  it('accepts the rules', async (ctx) => {
    need(ctx);
    const r = await promtool(['check', 'rules', RULES]);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.code).toBe(0);
  });

  it('passes the rules unit tests: each alert fires on the series that should page, and only then', async (ctx) => {
    need(ctx);
    const r = await promtool(['test', 'rules', RULE_TESTS]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });
});
