// IP and CIDR parsing and containment as Go's net package does it.
import t from 'tap';
import { parseCidr, parseIP16, parseIPv4 } from '../../../lib/hubble/filter/ip.ts';

t.test('IPv4 and IPv6 parsing', async (t) => {
  t.equal(parseIPv4('10.244.1.60'), 0x0af4013c);
  for (const bad of ['10.244.1', '10.244.1.256', '010.1.1.1', '1.2.3.4.', '1..2.3', 'a.b.c.d', '']) t.equal(parseIPv4(bad), -1, bad);
  t.strictSame([...parseIP16('fd00::1')!], [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  t.strictSame([...parseIP16('::ffff:1.2.3.4')!].slice(10), [0xff, 0xff, 1, 2, 3, 4]);
  t.strictSame([...parseIP16('::')!], new Array(16).fill(0));
  t.strictSame([...parseIP16('1:2:3:4:5:6:7:8')!].slice(14), [0, 8]);
  for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', 'fd00::12345', 'fd00::1%eth0', ':1', '1:', 'g::1']) t.equal(parseIP16(bad), undefined, bad);
});

t.test('CIDR containment', async (t) => {
  const c = parseCidr('10.244.0.0/16')!;
  t.ok(c.contains('10.244.255.1'));
  t.notOk(c.contains('10.245.0.1'));
  t.ok(c.contains('::ffff:10.244.0.9'), 'IPv4-mapped');
  t.notOk(c.contains('not-an-ip'));
  t.ok(parseCidr('0.0.0.0/0')!.contains('1.2.3.4'));
  const v6 = parseCidr('fd00:10::/32')!;
  t.ok(v6.contains('fd00:10:ffff::1'));
  t.notOk(v6.contains('fd00:11::1'));
  t.notOk(v6.contains('10.0.0.1'));
  t.ok(parseCidr('fd00::7/127')!.contains('fd00::6'));
  for (const bad of ['10.0.0.0/33', '10.0.0.0', '10.0.0.0/', '10.0.0.0/-1', 'fd00::/129', 'x/8']) t.equal(parseCidr(bad), undefined, bad);
});
