// Relay's sort window: records leave oldest first when it is full, on flush, and (follow mode) once older than the
// drain window; a slow client holds the pushers back.
import t from 'tap';
import type { GetFlowsResponse } from '../../../lib/flows/types.ts';
import type { FlowStreamSink } from '../../../lib/hubble/server/source.ts';
import { formatTimestamp } from '../../../lib/hubble/grpc/timestamp.ts';
import { SortWindow } from '../../../lib/sim/hubble/sort-window.ts';

/** A record at `ms` milliseconds since the epoch, named by its node. */
function at(ms: number, node = `n${ms}`): GetFlowsResponse {
  const seconds = Math.floor(ms / 1000);
  return { flow: { node_name: node }, node_name: node, time: formatTimestamp(seconds, (ms - seconds * 1000) * 1e6) };
}

/** A client that takes everything, or refuses until released. */
function client(opts: { refuseFirst?: boolean } = {}) {
  const got: string[] = [];
  let release: () => void = () => {};
  let refused = false;
  const sink: FlowStreamSink = {
    send(r) {
      got.push((r as GetFlowsResponse).node_name!);
      if (opts.refuseFirst && !refused) {
        refused = true;
        return false;
      }
      return true;
    },
    drained: () => new Promise<void>((resolve) => (release = resolve)),
  };
  return { sink, got, release: () => release() };
}

t.test('records leave oldest first when the window is full and on flush', async (t) => {
  const c = client();
  const w = new SortWindow(c.sink, { maxLen: 3 });
  for (const ms of [5000, 1000, 3000, 2000]) await w.push(at(ms));
  t.same(c.got, ['n1000'], 'the fourth record pushes out the oldest');
  await w.push(at(4000));
  t.same(c.got, ['n1000', 'n2000']);
  await w.flush();
  t.same(c.got, ['n1000', 'n2000', 'n3000', 'n4000', 'n5000']);
  w.close();
});

t.test('records with the same time keep their arrival order', async (t) => {
  const c = client();
  const w = new SortWindow(c.sink, { maxLen: 10 });
  for (const node of ['a', 'b', 'c']) await w.push(at(1000, node));
  await w.flush();
  t.same(c.got, ['a', 'b', 'c']);
  w.close();
});

t.test('in follow mode, records older than the drain window leave without being pushed out', async (t) => {
  const c = client();
  const w = new SortWindow(c.sink, { maxLen: 100, drainMs: 20 });
  const now = Date.now();
  await w.push(at(now - 500, 'old'));
  await w.push(at(now + 60_000, 'future'));
  const deadline = Date.now() + 2000;
  while (c.got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  t.same(c.got, ['old'], 'the old record drained; the one inside the window waits');
  t.equal(w.size, 1);
  w.close();
});

t.test('a client that is not keeping up holds the pushers back', async (t) => {
  const c = client({ refuseFirst: true });
  const w = new SortWindow(c.sink, { maxLen: 1 });
  await w.push(at(1000));
  let resolved = false;
  const second = w.push(at(2000)).then(() => (resolved = true));
  await new Promise((r) => setTimeout(r, 20));
  t.equal(resolved, false, 'push waits while the client is full');
  c.release();
  await second;
  t.same(c.got, ['n1000']);
  await w.flush();
  t.same(c.got, ['n1000', 'n2000']);
  w.close();
});
