// The object store: one resourceVersion for everything, a bounded change log, and 'gone' for watches older than it.
import t from 'tap';
import { Store } from '../../../lib/sim/apiserver/store.ts';
import { R } from '../../../lib/sim/apiserver/resources.ts';

t.test('every change bumps the one resourceVersion; the log keeps the newest changes only', async (t) => {
  const store = new Store(5);
  const seen: string[] = [];
  store.subscribe((ev) => seen.push(`${ev.type} ${ev.object.metadata.name}@${ev.rv}`));
  const a = store.insert(R.configmaps, { metadata: { name: 'a', namespace: 'x' } });
  const rvA = Number(a.metadata.resourceVersion);
  const b = store.insert(R.secrets, { metadata: { name: 'b', namespace: 'x' } });
  t.equal(Number(b.metadata.resourceVersion), rvA + 1, 'one counter across resources');
  const a2 = store.replace(R.configmaps, a, { ...a, data: { k: 'v' } });
  t.equal(Number(a2.metadata.resourceVersion), rvA + 2);
  t.equal(a.metadata.resourceVersion, String(rvA), 'stored objects are never changed in place');
  const gone = store.remove(R.configmaps, a2)!;
  t.equal(Number(gone.metadata.resourceVersion), rvA + 3);
  t.same(seen, [`ADDED a@${rvA}`, `ADDED b@${rvA + 1}`, `MODIFIED a@${rvA + 2}`, `DELETED a@${rvA + 3}`]);
  t.same(
    (store.eventsSince(rvA + 1) as { rv: number }[]).map((e) => e.rv),
    [rvA + 2, rvA + 3],
  );
  for (let i = 0; i < 10; i++) store.insert(R.configmaps, { metadata: { name: `n${i}`, namespace: 'x' } });
  t.equal(store.eventsSince(rvA), 'gone', 'changes dropped from the log cannot be replayed');
  const resumable = store.oldestResumable;
  t.equal((store.eventsSince(resumable) as unknown[]).length, 5);
  t.same(
    store
      .list(R.configmaps, 'x')
      .map((o) => o.metadata.name)
      .slice(0, 3),
    ['n0', 'n1', 'n2'],
  );
});
