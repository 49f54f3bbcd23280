// Jobs: pods run to completion, Complete and Failed conditions with Kubernetes' reasons, backoffLimit, logs kept.
import t from 'tap';
import { BatchV1Api, CoreV1Api, type V1Job } from '@kubernetes/client-node';
import { raw, testCluster, waitFor } from '../helpers.ts';

const job = (name: string, env: Record<string, string>, backoffLimit = 0): V1Job => ({
  metadata: { name },
  spec: {
    backoffLimit,
    template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'node:20-alpine', env: Object.entries(env).map(([n, value]) => ({ name: n, value })) }] } },
  },
});

t.test('a Job that succeeds is Complete, counts its pod and keeps it with its log', async (t) => {
  const c = await testCluster(t);
  const batch = c.kubeConfig.makeApiClient(BatchV1Api);
  const core = c.kubeConfig.makeApiClient(CoreV1Api);
  await batch.createNamespacedJob({ namespace: 'default', body: job('ok', { LOG: 'first|second' }) });
  const done = await waitFor('complete', async () => {
    const j = await batch.readNamespacedJob({ name: 'ok', namespace: 'default' });
    return j.status?.conditions?.some((x) => x.type === 'Complete' && x.status === 'True') ? j : undefined;
  });
  t.equal(done.status?.succeeded, 1);
  t.notOk(done.status?.active);
  t.ok(done.status?.startTime && done.status.completionTime);
  t.same(done.status?.conditions?.map((x) => [x.type, x.reason]), [['SuccessCriteriaMet', 'CompletionsReached'], ['Complete', 'CompletionsReached']]);
  const [pod] = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=ok' })).items;
  t.equal(pod?.status?.phase, 'Succeeded');
  t.match(pod?.status?.containerStatuses?.[0]?.state?.terminated, { exitCode: 0, reason: 'Completed' });
  t.match(pod?.status?.conditions?.find((x) => x.type === 'Ready'), { status: 'False', reason: 'PodCompleted' });
  const log = await raw(c, 'GET', `/api/v1/namespaces/default/pods/${pod!.metadata!.name}/log`);
  t.equal(log.text, `first\nsecond\npod ip ${pod!.status!.podIP}\n`);
  t.equal((await raw(c, 'GET', `/api/v1/namespaces/default/pods/${pod!.metadata!.name}/log?tailLines=1`)).text, `pod ip ${pod!.status!.podIP}\n`);
  t.match((await raw(c, 'GET', `/api/v1/namespaces/default/pods/${pod!.metadata!.name}/log?container=other`)).json, { code: 400, message: `container other is not valid for pod ${pod!.metadata!.name}` });
});

t.test('a Job whose pod fails beyond backoffLimit is Failed with BackoffLimitExceeded', async (t) => {
  const c = await testCluster(t);
  const batch = c.kubeConfig.makeApiClient(BatchV1Api);
  await batch.createNamespacedJob({ namespace: 'default', body: job('bad', { EXIT_CODE: '3' }) });
  const failed = await waitFor('failed', async () => {
    const j = await batch.readNamespacedJob({ name: 'bad', namespace: 'default' });
    return j.status?.conditions?.some((x) => x.type === 'Failed') ? j : undefined;
  });
  t.equal(failed.status?.failed, 1);
  t.match(failed.status?.conditions?.find((x) => x.type === 'Failed'), { status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
  t.ok(failed.status?.conditions?.some((x) => x.type === 'FailureTarget'));
});

t.test('a Job template must say Never or OnFailure', async (t) => {
  const c = await testCluster(t);
  const r = await raw(c, 'POST', '/apis/batch/v1/namespaces/default/jobs', { body: { metadata: { name: 'x' }, spec: { template: { spec: { restartPolicy: 'Always', containers: [{ name: 'c', image: 'i' }] } } } } });
  t.match(r.json, { code: 422, message: 'Job.batch "x" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"' });
});
