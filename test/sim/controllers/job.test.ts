// Jobs: pods run to completion, Complete and Failed conditions with Kubernetes' reasons, backoffLimit, logs kept.
import t from 'tap';
import { BatchV1Api, CoreV1Api, type V1Job } from '@kubernetes/client-node';
import { raw, testCluster, waitFor } from '../helpers.ts';
import { kubeConfigOf } from '../../fixtures/sim-kube.ts';

const job = (name: string, env: Record<string, string>, backoffLimit = 0): V1Job => ({
  metadata: { name },
  spec: {
    backoffLimit,
    template: {
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'main', image: 'node:20-alpine', env: Object.entries(env).map(([n, value]) => ({ name: n, value })) }],
      },
    },
  },
});

t.test('a Job that succeeds is Complete, counts its pod and keeps it with its log', async (t) => {
  const c = await testCluster(t);
  const kc = kubeConfigOf(c);
  const batch = kc.makeApiClient(BatchV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  await batch.createNamespacedJob({ namespace: 'default', body: job('ok', { LOG: 'first|second' }) });
  const done = await waitFor('complete', async () => {
    const j = await batch.readNamespacedJob({ name: 'ok', namespace: 'default' });
    return j.status?.conditions?.some((x) => x.type === 'Complete' && x.status === 'True') ? j : undefined;
  });
  t.equal(done.status?.succeeded, 1);
  t.notOk(done.status?.active);
  t.ok(done.status?.startTime && done.status.completionTime);
  t.same(
    done.status?.conditions?.map((x) => [x.type, x.reason]),
    [
      ['SuccessCriteriaMet', 'CompletionsReached'],
      ['Complete', 'CompletionsReached'],
    ],
  );
  const [pod] = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=ok' })).items;
  t.equal(pod?.status?.phase, 'Succeeded');
  t.match(pod?.status?.containerStatuses?.[0]?.state?.terminated, { exitCode: 0, reason: 'Completed' });
  t.match(
    pod?.status?.conditions?.find((x) => x.type === 'Ready'),
    { status: 'False', reason: 'PodCompleted' },
  );
  const log = await raw(c, 'GET', `/api/v1/namespaces/default/pods/${pod!.metadata!.name}/log`);
  t.equal(log.text, `first\nsecond\npod ip ${pod!.status!.podIP}\n`);
  t.equal((await raw(c, 'GET', `/api/v1/namespaces/default/pods/${pod!.metadata!.name}/log?tailLines=1`)).text, `pod ip ${pod!.status!.podIP}\n`);
  t.match((await raw(c, 'GET', `/api/v1/namespaces/default/pods/${pod!.metadata!.name}/log?container=other`)).json, {
    code: 400,
    message: `container other is not valid for pod ${pod!.metadata!.name}`,
  });
});

t.test('a Job whose pod fails beyond backoffLimit is Failed with BackoffLimitExceeded', async (t) => {
  const c = await testCluster(t);
  const batch = kubeConfigOf(c).makeApiClient(BatchV1Api);
  await batch.createNamespacedJob({ namespace: 'default', body: job('bad', { EXIT_CODE: '3' }) });
  const failed = await waitFor('failed', async () => {
    const j = await batch.readNamespacedJob({ name: 'bad', namespace: 'default' });
    return j.status?.conditions?.some((x) => x.type === 'Failed') ? j : undefined;
  });
  t.equal(failed.status?.failed, 1);
  t.match(
    failed.status?.conditions?.find((x) => x.type === 'Failed'),
    { status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' },
  );
  t.ok(failed.status?.conditions?.some((x) => x.type === 'FailureTarget'));
});

t.test('a Job template must say Never or OnFailure', async (t) => {
  const c = await testCluster(t);
  const r = await raw(c, 'POST', '/apis/batch/v1/namespaces/default/jobs', {
    body: { metadata: { name: 'x' }, spec: { template: { spec: { restartPolicy: 'Always', containers: [{ name: 'c', image: 'i' }] } } } },
  });
  t.match(r.json, {
    code: 422,
    message: 'Job.batch "x" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
  });
});

t.test('a Job with a parallelism of a billion creates pods at the controller pace, and the API keeps answering', async (t) => {
  const c = await testCluster(t);
  const negative = await raw(c, 'POST', '/apis/batch/v1/namespaces/default/jobs', {
    body: { ...job('neg', {}), spec: { ...job('neg', {}).spec, parallelism: -1 } },
  });
  t.equal(negative.status, 422);
  t.match(negative.json.message, 'spec.parallelism: Invalid value: -1: must be greater than or equal to 0');
  const typed = await raw(c, 'POST', '/apis/batch/v1/namespaces/default/jobs', {
    body: { ...job('typed', {}), spec: { ...job('typed', {}).spec, completions: 'many' } },
  });
  t.equal(typed.status, 400);
  t.match(typed.json.message, 'json: cannot unmarshal string into Go struct field JobSpec.spec.completions of type int32');

  const flood = job('flood', {});
  flood.spec = { ...flood.spec!, parallelism: 1_000_000_000, completions: 1_000_000_000 };
  flood.spec.template.spec!.containers[0]!.image = 'registry.k8s.io/pause:3.9';
  flood.spec.template.spec!.restartPolicy = 'Never';
  const start = Date.now();
  t.equal((await raw(c, 'POST', '/apis/batch/v1/namespaces/default/jobs', { body: flood })).status, 201);
  let slowest = 0;
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const asked = Date.now();
    t.equal((await raw(c, 'GET', '/readyz')).status, 200);
    slowest = Math.max(slowest, Date.now() - asked);
  }
  const pods = (await raw(c, 'GET', '/api/v1/namespaces/default/pods?labelSelector=job-name%3Dflood')).json.items.length;
  const elapsed = (Date.now() - start) / 1000;
  t.ok(slowest < 3000, `the API answered within 3 s (slowest ${slowest} ms)`);
  t.ok(pods > 0 && pods <= 30 + 20 * (elapsed + 1), `pods come at 20/s after a burst of 30 (${pods} in ${elapsed.toFixed(1)} s)`);
});
