// junit.xml: one testcase per check, failures naming the edges, skipped checks marked, text escaped.
import t from 'tap';
import { parseExpectations } from '../../lib/analysis/expectations.ts';
import { formatJunit } from '../../lib/report/junit.ts';
import { demoReport } from '../fixtures/demo-report.ts';

function testcases(xml: string): { name: string; body: string }[] {
  return [...xml.matchAll(/<testcase classname="hubble-lab\.compliance" name="([^"]*)" time="0">([\s\S]*?)<\/testcase>/g)].map((m) => ({
    name: m[1]!,
    body: m[2]!,
  }));
}

t.test('without expectations: the policy-drops case fails naming both denied edges, the rest skipped', async (t) => {
  const { report } = demoReport();
  const xml = formatJunit(report);
  t.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="hubble-lab compliance" tests="6" failures="1" errors="0" skipped="4" time="0">/);
  const cases = testcases(xml);
  t.equal(cases.length, 6, 'one testcase per check');
  const drops = cases.find((c) => c.name.startsWith('policy-drops'))!;
  t.match(
    drops.body,
    /<failure type="policy-drops" message="2 findings: default\/test-pod → genai-network-demo\/document-agent; genai-network-demo\/document-agent → world">/,
  );
  t.match(drops.body, /FAIL: default\/test-pod → genai-network-demo\/document-agent: 48 SYNs denied by policy \(48 at the server's ingress\)/);
  t.match(drops.body, /flows: hubble-lab observe --input-file flows\.jsonl --from-pod default\/test-pod/);
  t.match(cases.find((c) => c.name.startsWith('slo'))!.body, /<skipped message="not configured: no expectations file \(--expect\): needs slo limits"\/>/);
  t.match(cases.find((c) => c.name.startsWith('completeness'))!.body, /<system-out>WARNING: 3 findings/);
  t.match(xml, /<property name="verdict" value="FAIL"\/>/);
});

t.test('incomplete data fails its testcase; text with markup is escaped', async (t) => {
  const { report } = demoReport({
    expectations: parseExpectations('deny:\n  - name: "<probe> & \\"friends\\""\n    from: default/test-pod\n    to: "*"\nincomplete: fail\n', 'e.yaml'),
  });
  const xml = formatJunit(report);
  t.match(xml, /failures="1"/);
  const completeness = testcases(xml).find((c) => c.name.startsWith('completeness'))!;
  t.match(completeness.body, /<failure type="incomplete" message="3 findings: 42 events lost/);
  const deny = testcases(xml).find((c) => c.name.startsWith('deny-enforced'))!;
  t.match(deny.body, /&lt;probe&gt; &amp; &quot;friends&quot;/);
  t.notMatch(xml.replace(/<\/?[a-z]+[^<>]*>|<\?xml[^>]*\?>/g, ''), /[<>]/, 'no stray markup outside tags');
});
