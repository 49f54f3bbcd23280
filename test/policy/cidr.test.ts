// IP and CIDR parsing and containment for ipBlock and Cilium CIDR rules.
import t from 'tap';
import { cidrContains, cidrWithin, parseAddress, parseCidr } from '../../lib/policy/cidr.ts';

t.test('addresses and blocks, both families', async (t) => {
  const inBlock = (cidr: string, ip: string) => cidrContains(parseCidr(cidr)!, parseAddress(ip)!);
  const cases: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['10.1.2.3/8', '10.9.9.9', true],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['203.0.113.7/32', '203.0.113.7', true],
    ['203.0.113.7', '203.0.113.8', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['::ffff:0:0/96', '::ffff:198.51.100.1', true],
    ['::/0', '203.0.113.9', false],
  ];
  for (const [cidr, ip, want] of cases) t.equal(inBlock(cidr, ip), want, `${ip} in ${cidr}`);
  t.equal(cidrWithin(parseCidr('10.1.0.0/16')!, parseCidr('10.0.0.0/8')!), true);
  t.equal(cidrWithin(parseCidr('10.0.0.0/8')!, parseCidr('10.1.0.0/16')!), false);
  t.same(
    ['10.0.0.0/33', '10.0.0/8', 'x/8', '10.0.0.0/-1', '10.0.0.0/'].map((c) => parseCidr(c)),
    [undefined, undefined, undefined, undefined, undefined],
  );
  t.equal(parseCidr('10.0.0.1', true), undefined, 'a prefix can be required');
  t.equal(parseAddress('not-an-ip'), undefined);
});
