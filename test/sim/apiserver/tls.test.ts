// The self-signed serving certificate: valid DER every time, for 127.0.0.1 and localhost, usable as its own CA.
import t from 'tap';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { selfSignedCert } from '../../../lib/sim/apiserver/tls.ts';

t.test('certificates parse, verify themselves and name 127.0.0.1', async (t) => {
  for (let i = 0; i < 200; i++) {
    const { cert, key } = selfSignedCert();
    const x = new X509Certificate(cert);
    if (!x.verify(x.publicKey) || !x.checkPrivateKey(createPrivateKey(key))) t.fail(`certificate ${i} does not verify`);
    if (i === 0) {
      t.equal(x.ca, true);
      t.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
      t.equal(x.checkHost('localhost'), 'localhost');
      t.equal(x.subject, 'CN=hubble-lab-sim');
      t.ok(Date.parse(x.validTo) > Date.now() + 300 * 86400_000);
    }
  }
  t.pass('200 certificates verified');
});
