// How hubble-relay reads its command line and config file, and how it reads peer addresses.
import t from 'tap';
import { RelayConfigError, relayConfig } from '../../../lib/sim/hubble/relay-config.ts';
import { peerTarget } from '../../../lib/sim/hubble/peer-watch.ts';

t.test('hubble-relay serve: flags over the config file over the defaults', async (t) => {
  const { config, warnings } = relayConfig(
    [
      'serve',
      '--local-server-address=0.0.0.0:4245',
      '--peer-service',
      'hubble-peer.kube-system.svc.cluster.local:443',
      '--sort-buffer-drain-timeout=250ms',
      '--redact-enabled=false',
      '--debug',
    ],
    { 'retry-timeout': '2s', 'sort-buffer-len-max': 50, 'sort-buffer-drain-timeout': '9s' },
  );
  t.same(config, {
    listenPort: 4245,
    peerService: { host: 'hubble-peer.kube-system.svc.cluster.local', port: 443 },
    dialTimeoutMs: 5000,
    retryTimeoutMs: 2000,
    sortBufferMaxLen: 50,
    sortBufferDrainMs: 250,
  });
  t.same(warnings, []);
  t.equal(relayConfig([]).config.listenPort, 4245, 'listen-address defaults to :4245');
  t.equal(relayConfig(['--listen-address=:4300']).config.listenPort, 4300, 'the real flag name works too');
  t.same(relayConfig(['--frob']).warnings, ['unknown flag: --frob']);
});

t.test('hubble-relay serve: values it refuses', async (t) => {
  t.throws(
    () => relayConfig(['--dial-timeout=soon']),
    new RelayConfigError('invalid argument "soon" for "--dial-timeout" flag: time: invalid duration "soon"'),
  );
  t.throws(() => relayConfig(['--local-server-address=0.0.0.0']), { message: /expected \[host\]:port/ });
  t.throws(() => relayConfig(['--peer-service']), { message: 'flag needs an argument: --peer-service' });
  t.throws(() => relayConfig(['--sort-buffer-len-max=0']), { message: /positive integer/ });
  t.throws(() => relayConfig(['--peer-service=unix:///var/run/cilium/hubble.sock']), { message: /over TCP/ });
});

t.test('peer addresses: a bare IP means port 4244', async (t) => {
  t.same(peerTarget('127.18.0.3'), { host: '127.18.0.3', port: 4244 });
  t.same(peerTarget('127.18.0.3:4250'), { host: '127.18.0.3', port: 4250 });
  t.same(peerTarget('[fd00::3]:4244'), { host: 'fd00::3', port: 4244 });
  t.same(peerTarget('fd00::3'), { host: 'fd00::3', port: 4244 });
  t.equal(peerTarget(''), undefined);
});
