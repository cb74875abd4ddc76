import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { freshStream, proposed } from '../support/events.js';
import { promtool, scrape } from '../support/prometheus.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const RULES = `${DEPLOY}prometheus/auren.rules.yml`;

// The metric names a PromQL expression reads (ours, gRPC's, the process's), histogram suffixes cut.
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/(?<![:\w])((?:auren|grpc_server|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) =>
    m[1]!.replace(/_(bucket|count|sum)$/, ''),
  );
}

describe('deploy/prometheus and deploy/grafana', () => {
  it('passes promtool check rules and check config', async () => {
    const rules = await promtool(['check', 'rules', RULES]);
    assert.equal(rules.code, 0, rules.output);
    const config = await promtool(['check', 'config', `${DEPLOY}prometheus/prometheus.yml`]);
    assert.equal(config.code, 0, config.output);
  });

  it('fires each alert on the series that should fire it (promtool test rules)', async () => {
    const result = await promtool(['test', 'rules', `${DEPLOY}prometheus/auren.rules.test.yml`]);
    assert.equal(result.code, 0, result.output);
  });

  describe('reads only metrics the service exports', () => {
    let t: TestApp;
    before(async () => (t = await startTestApp()));
    after(() => t?.stop());

    it('in every alert rule and every Grafana panel', async () => {
      await t.events.appendToStream({ streamId: freshStream(), events: [proposed()] });
      const exported = new Set([...(await scrape(`${t.app.url}/metrics`)).text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
      const rulesText = readFileSync(RULES, 'utf8');
      const recorded = new Set([...rulesText.matchAll(/record: (\S+)/g)].map((m) => m[1]!));
      const dashboard = JSON.parse(readFileSync(`${DEPLOY}grafana/dashboards/auren.json`, 'utf8')) as {
        panels: { title: string; targets: { expr: string }[] }[];
      };
      const used = [
        ...[...rulesText.matchAll(/expr: (.+(?:\n {10,}.+)*)/g)].map((m) => ({ where: 'rules', expr: m[1]! })),
        ...dashboard.panels.flatMap((p) => p.targets.map((target) => ({ where: `panel '${p.title}'`, expr: target.expr }))),
      ];
      const unknown = used.flatMap(({ where, expr }) =>
        metricNames(expr)
          .filter((name) => !exported.has(name) && !recorded.has(name))
          .map((name) => `${where}: ${name}`),
      );
      assert.deepEqual(unknown, []);
      for (const { expr } of used)
        for (const name of expr.match(/auren:[\w:]+/g) ?? []) assert.ok(recorded.has(name), `${name} is recorded`);
    });
  });
});
