// FlowFilters as JSON: protojson names, a stream of objects per value, strict about unknown fields.
import t from 'tap';
import { parseRawFilters, RawFilterError } from '../../../lib/hubble/filter/raw.ts';

t.test('reads one or several filters, proto or JSON names', async (t) => {
  t.strictSame(parseRawFilters('{"source_pod":["kube-system/"]}'), [{ source_pod: ['kube-system/'] }]);
  t.strictSame(parseRawFilters(' {"sourcePod":["a/"]}\n{"tcpFlags":[{"SYN":true}],"httpHeader":[{"key":"k","value":"v"}]} '), [
    { source_pod: ['a/'] },
    { tcp_flags: [{ SYN: true }], http_header: [{ key: 'k', value: 'v' }] },
  ]);
  t.strictSame(parseRawFilters('{"dns_query":["a{1}\\"}"]}'), [{ dns_query: ['a{1}"}'] }], 'braces and quotes inside strings');
  t.strictSame(parseRawFilters('{"ip_version":[1,"IPv6"]}'), [{ ip_version: ['IPv4', 'IPv6'] }]);
});

t.test('refuses what protojson refuses', async (t) => {
  for (const bad of ['{"nope":1}', '{"source_workload":[{"name":"a","replicas":2}]}', '{"verdict":["NOPE"]}', '{"source_identity":["x"]}', '42', '{"a":', '']) {
    t.throws(
      () => {
        const filters = parseRawFilters(bad);
        if (filters.length === 0) throw new RawFilterError('no filter');
      },
      RawFilterError,
      JSON.stringify(bad),
    );
  }
});
