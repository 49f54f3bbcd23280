// Reading the generator's and the probe's result lines out of a pod log, and saying clearly when they are not there.
import t from 'tap';
import { InputError } from '../../lib/errors.ts';
import { readProbeResult, readTrafficSummary } from '../../lib/traffic/summary.ts';

const summary = (workflows: number) =>
  `HUBBLE_LAB_SUMMARY ${JSON.stringify({ mode: 'traffic', seed: 1, steps: {}, workflows: { started: workflows, completed: workflows, failed: 0 } })}`;

t.test('the last summary line wins over earlier ones and other output', async (t) => {
  const log = ['generating traffic for 20 s (seed 1)', summary(1), '[12:00:01] traffic batch 1: normal', summary(3), ''].join('\n');
  t.equal(readTrafficSummary(log, 'job/traffic-generator').workflows.started, 3);
});

t.test('a missing, cut-off or foreign line is an InputError naming the log and line', async (t) => {
  t.throws(() => readTrafficSummary('generating traffic\n[..] batch 1\n', 'job/traffic-generator'), {
    constructor: InputError,
    message: 'job/traffic-generator: no HUBBLE_LAB_SUMMARY line in 2 log lines',
  });
  t.throws(() => readTrafficSummary(`start\n${summary(2).slice(0, 60)}`, 'job/x'), {
    constructor: InputError,
    message: /^job\/x:2: the HUBBLE_LAB_SUMMARY line is not valid JSON/,
  });
  t.throws(() => readTrafficSummary('HUBBLE_LAB_SUMMARY [1,2]', 'log'), { message: 'log:1: the HUBBLE_LAB_SUMMARY line does not hold a JSON object' });
  t.throws(() => readTrafficSummary('HUBBLE_LAB_SUMMARY {"mode":"probe"}', 'log'), { message: /is not a traffic summary/ });
  t.throws(() => readProbeResult(summary(1), 'pod/test-pod'), { message: 'pod/test-pod: no HUBBLE_LAB_PROBE line in 1 log lines' });
  t.throws(() => readProbeResult('HUBBLE_LAB_PROBE {"mode":"probe","outcome":"maybe"}', 'pod/test-pod'), {
    message: 'pod/test-pod: the HUBBLE_LAB_PROBE line is not a probe result (outcome "maybe")',
  });
});

t.test('a probe line is read as it was printed', async (t) => {
  const line = { mode: 'probe', target: 'http://document-agent-service', outcome: 'denied', reason: 'timeout', ms: 3001.2 };
  t.same(readProbeResult(`HUBBLE_LAB_PROBE ${JSON.stringify(line)}\n`, 'pod/test-pod'), line);
});
