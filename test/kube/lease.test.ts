// The run lease on the embedded cluster: held, refused to a second run with who holds it, renewed, released, and
// taken over once its holder stopped renewing; `hubble-lab run` refuses while another run holds it.
import t from 'tap';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { acquireRunLease, runLease } from '../../lib/kube/lease.ts';
import { InfraError } from '../../lib/errors.ts';
import { startSimCluster } from '../../lib/sim/cluster.ts';
import { runHubbleLab } from '../fixtures/cli-process.ts';
import { kubeConfigOf } from '../fixtures/sim-kube.ts';

const sim = await startSimCluster({ nodes: 1 });
t.teardown(() => sim.stop());
const kc = kubeConfigOf(sim);
const api = kc.makeApiClient(CoordinationV1Api);

t.test('a second run is refused while the first holds the lease; after release the next one gets it', async (t) => {
  const first = await acquireRunLease(kc, { holder: 'run-a' });
  const live = await api.readNamespacedLease(runLease);
  t.same([live.spec?.holderIdentity, live.spec?.leaseDurationSeconds], ['run-a', 30]);
  const err = await acquireRunLease(kc, { holder: 'run-b' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof InfraError, 'refused');
  t.match((err as InfraError).message, /^another lab run is using this cluster: Lease kube-system\/hubble-lab-run is held by run-a \(renewed \d+s ago\)$/);
  t.match((err as InfraError).hint, /expires in \d+s \(or: kubectl -n kube-system delete lease hubble-lab-run\)/);
  t.equal((err as InfraError).exitCode, 2);
  await first.release();
  await t.rejects(api.readNamespacedLease(runLease), 'released: the lease is deleted');
  const second = await acquireRunLease(kc, { holder: 'run-b' });
  t.equal((await api.readNamespacedLease(runLease)).spec?.holderIdentity, 'run-b');
  await second.release();
});

t.test('the holder renews; a lease nobody renews expires and is taken over', async (t) => {
  const held = await acquireRunLease(kc, { holder: 'renewing', durationSeconds: 1 });
  t.teardown(() => held.release());
  const before = (await api.readNamespacedLease(runLease)).spec?.renewTime;
  await new Promise((r) => setTimeout(r, 1200));
  const after = (await api.readNamespacedLease(runLease)).spec?.renewTime;
  t.ok(before && after && new Date(after).getTime() > new Date(before).getTime(), 'renewed while held');
  await t.rejects(acquireRunLease(kc, { holder: 'late' }), /held by renewing/, 'still held past its first duration');
  // A holder that died: its lease stays in the cluster, unrenewed. The live holder renews every third of a second, so
  // a write from an older read can conflict (409): read and write again, as any client of a Lease does.
  for (let attempt = 1; ; attempt++) {
    const stale = await api.readNamespacedLease(runLease);
    try {
      await api.replaceNamespacedLease({
        ...runLease,
        body: { ...stale, spec: { ...stale.spec, holderIdentity: 'crashed', renewTime: new Date(Date.now() - 5000) as never } },
      });
      break;
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || attempt === 10) throw err;
    }
  }
  await held.release();
  t.equal((await api.readNamespacedLease(runLease)).spec?.holderIdentity, 'crashed', 'release leaves a lease it no longer holds');
  const taker = await acquireRunLease(kc, { holder: 'taker' });
  t.teardown(() => taker.release());
  const taken = (await api.readNamespacedLease(runLease)).spec;
  t.same([taken?.holderIdentity, taken?.leaseTransitions], ['taker', 1]);
  await taker.release();
});

t.test('hubble-lab run refuses with exit 2 and the holder while another run holds the cluster', async (t) => {
  const held = await acquireRunLease(kc, { holder: 'the first run' });
  t.teardown(() => held.release());
  const second = await runHubbleLab(['run', '--kubeconfig', sim.kubeconfigPath, '--yes', 'preflight', '--out', t.testdir()], 60_000);
  t.equal(second.code, 2);
  t.match(second.stdout + second.stderr, /another lab run is using this cluster: Lease kube-system\/hubble-lab-run is held by the first run/);
  t.equal((await api.readNamespacedLease(runLease)).spec?.holderIdentity, 'the first run', 'the refused run leaves the lease alone');
});
