// What no client can do to `hubble-lab relay` or `observe`: a backtracking-prone filter regex finishes in linear
// time and leaves the relay answering others, and a record over 4 MiB is skipped with a note instead of ending
// every stream that covers it. The relay runs as its own process, as a user runs it.
import t, { type Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Flow, GetFlowsResponse } from '../../lib/flows/types.ts';
import { observerService } from '../../lib/hubble/grpc/services.ts';
import { hubbleLabBin, runHubbleLab } from '../fixtures/cli-process.ts';
import { flowMix } from '../fixtures/flow-mix.ts';
import { fileTempDir } from '../fixtures/temp-dir.ts';

type ObserverStub = grpc.Client & {
  GetFlows(req: object, opts?: grpc.CallOptions): grpc.ClientReadableStream<GetFlowsResponse>;
  ServerStatus(req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { num_flows?: string }) => void): void;
};
const Observer = grpc.makeGenericClientConstructor(observerService, 'Observer');

const dir = fileTempDir('relay-limits-');

/** HTTP flows whose URLs end in `tail(i)`, for regex filters to work on. */
function httpFlows(n: number, url: (i: number) => string): GetFlowsResponse[] {
  return flowMix(n * 2, { seed: 41 })
    .filter((r) => r.flow)
    .slice(0, n)
    .map((r, i) => ({ ...r, flow: { ...r.flow, uuid: `flow-${i}`, l7: { type: 'REQUEST' as const, http: { method: 'GET', url: url(i) } } } }));
}

function writeExport(name: string, records: GetFlowsResponse[]): string {
  const path = join(dir, name);
  writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

/** Starts `hubble-lab relay` as a child process; resolves once it has read the whole file. */
async function startRelay(t: Test, file: string): Promise<{ stub: ObserverStub; stderr: () => string; child: ChildProcess }> {
  const child = spawn(process.execPath, [hubbleLabBin, 'relay', '--input', file, '--listen', '127.0.0.1:0'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  t.teardown(() => {
    clearTimeout(kill);
    child.kill('SIGKILL');
  });
  const address = await new Promise<string>((resolve, reject) => {
    const poll = setInterval(() => {
      const m = / on (127\.0\.0\.1:\d+) [\s\S]*serving until interrupted/.exec(stdout);
      if (m) {
        clearInterval(poll);
        resolve(m[1]!);
      }
    }, 20);
    child.once('exit', (code) => {
      clearInterval(poll);
      reject(new Error(`relay exited ${code}: ${stderr}`));
    });
  });
  const stub = new Observer(address, grpc.credentials.createInsecure()) as unknown as ObserverStub;
  t.teardown(() => stub.close());
  return { stub, stderr: () => stderr, child };
}

function getFlows(stub: ObserverStub, req: object, opts: grpc.CallOptions = {}): Promise<{ uuids: string[]; err?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const uuids: string[] = [];
    const call = stub.GetFlows(req, opts);
    call.on('data', (r: GetFlowsResponse) => r.flow && uuids.push(r.flow.uuid!));
    call.on('error', (err: grpc.ServiceError) => resolve({ uuids, err }));
    call.on('end', () => resolve({ uuids }));
  });
}

function status(stub: ObserverStub, deadlineMs: number): Promise<{ ms: number; err: grpc.ServiceError | null }> {
  const start = performance.now();
  return new Promise((resolve) => stub.ServerStatus({}, { deadline: Date.now() + deadlineMs }, (err) => resolve({ ms: performance.now() - start, err })));
}

const HOSTILE = '(.|\\w)*!';

t.test('observe --input-file: --http-url (.|\\w)*! over long URLs finishes in linear time', async (t) => {
  const file = writeExport(
    'long-urls.jsonl',
    httpFlows(200, (i) => `http://svc/${'a'.repeat(3000)}${i}`),
  );
  // A backtracking engine spends minutes on each of these URLs; the child is killed (code -1) after 60 s.
  const none = await runHubbleLab(['observe', '--input-file', file, '--http-url', HOSTILE, '-o', 'jsonpb'], 60_000);
  t.equal(none.code, 0, none.stderr);
  t.equal(none.stdout, '', 'no URL has a !');
  const some = await runHubbleLab(['observe', '--input-file', file, '--http-url', '(.|\\w)*7$', '-o', 'jsonpb'], 60_000);
  t.equal(some.code, 0, some.stderr);
  t.equal(some.stdout.trim().split('\n').length, 20, 'the URLs ending in 7');
});

t.test('relay: a (.|\\w)*! filter leaves ServerStatus answering, and returns what matches', async (t) => {
  const file = writeExport(
    'relay-long-urls.jsonl',
    httpFlows(300, (i) => `http://svc/${'ab'.repeat(1500)}${i % 10 === 0 ? '!' : ''}`),
  );
  const relay = await startRelay(t, file);
  const probesDone = (async () => {
    const probes: { ms: number; err: grpc.ServiceError | null }[] = [];
    for (let i = 0; i < 10; i++) {
      probes.push(await status(relay.stub, 2000));
      await new Promise((r) => setTimeout(r, 30));
    }
    return probes;
  })();
  const hostile = await getFlows(relay.stub, { whitelist: [{ http_url: [HOSTILE] }] }, { deadline: Date.now() + 30_000 });
  t.equal(hostile.err, undefined);
  t.equal(hostile.uuids.length, 30, 'the URLs with a ! in them');
  const probes = await probesDone;
  t.same(
    probes.map((p) => p.err?.code),
    Array(10).fill(undefined),
    `status probes answered (${probes.map((p) => p.ms.toFixed(0)).join(', ')} ms)`,
  );
});

t.test('relay: a record over 4 MiB is skipped with a note; a grpc-js client receives every other flow', async (t) => {
  const records = httpFlows(20, (i) => (i === 7 ? `http://svc/${'x'.repeat(5 * 1024 * 1024)}` : `http://svc/${i}`));
  const relay = await startRelay(t, writeExport('big-record.jsonl', records));
  const want = records.filter((_, i) => i !== 7).map((r) => r.flow!.uuid);
  // grpc-js keeps gRPC's default 4 MiB receive limit, as the hubble CLI does.
  for (const req of [{}, { number: 100 }, { field_mask: 'uuid,l7' }]) {
    const got = await getFlows(relay.stub, req);
    t.equal(got.err, undefined, `${JSON.stringify(req)}: the stream ends cleanly`);
    t.same(got.uuids, want, `${JSON.stringify(req)}: every other flow`);
  }
  const notes = relay
    .stderr()
    .split('\n')
    .filter((l) => l.includes('not serving'));
  t.equal(notes.length, 1, 'one note for the record, however many clients');
  t.match(
    notes[0],
    /^hubble-lab relay: not serving the flow flow-7 from .+: \d+ bytes encoded, over the 4194304 bytes \(4 MiB\) a Hubble client accepts in one message$/,
  );
});

t.test('relay: a flow with an enum name from a newer Cilium is skipped with a note, and no stream breaks on it', async (t) => {
  const records = httpFlows(12, (i) => `http://svc/${i}`);
  // What a newer Cilium may write: names this version's types do not have.
  records[3] = { ...records[3]!, flow: { ...records[3]!.flow!, verdict: 'SOME_NEWER_VERDICT' as unknown as Flow['verdict'] } };
  records[8] = { ...records[8]!, flow: { ...records[8]!.flow!, drop_reason_desc: 'SOME_NEWER_REASON' } };
  const relay = await startRelay(t, writeExport('newer-enums.jsonl', records));
  const want = records.filter((_, i) => i !== 3 && i !== 8).map((r) => r.flow!.uuid);
  for (const req of [{}, { number: 100 }]) {
    const got = await getFlows(relay.stub, req);
    t.equal(got.err, undefined, `${JSON.stringify(req)}: the stream ends cleanly`);
    t.same(got.uuids, want, `${JSON.stringify(req)}: every other flow`);
  }
  const notes = relay
    .stderr()
    .split('\n')
    .filter((l) => l.includes('not serving'));
  t.match(notes, [
    /flow flow-3 .*: it cannot be encoded: flow\.verdict: unknown Verdict value "SOME_NEWER_VERDICT"/,
    /flow flow-8 .*unknown DropReason value "SOME_NEWER_REASON"/,
  ]);
  t.equal(notes.length, 2, 'one note per record');
});
