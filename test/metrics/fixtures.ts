// Shared setup for the metrics tests: sim agents on three nodes with the lab's hubble-metrics, and a demo workflow
// whose flows cover every metric the dashboards and the analysis read (HTTP with errors, denials, DNS, TCP).
import type { Test } from 'tap';
import type { Flow } from '../../lib/flows/types.ts';
import { startHubbleAgent } from '../../lib/sim/hubble/agent.ts';
import { hubbleAgentConfig } from '../../lib/sim/hubble/agent-config.ts';
import { ConnectionFlows } from '../../lib/sim/hubble/flows.ts';
import { SimHubble } from '../../lib/sim/hubble/hub.ts';
import { hubbleMetrics } from '../../lib/lab/cilium-config.ts';
import { agentPod, clusterName, demoEndpoint, nodeIP, nodes, testDatapath } from '../sim/hubble/fixtures.ts';

export const labConfig = hubbleAgentConfig({
  'enable-hubble': 'true',
  'hubble-listen-address': ':4244',
  'hubble-metrics-server': ':9965',
  'hubble-metrics': hubbleMetrics,
});

/** Agents on the three nodes; their real metrics addresses, labelled by node as the lab's scrape config does. */
export async function labAgents(t: Test): Promise<{ hub: SimHubble; targets: { address: string; labels: Record<string, string> }[] }> {
  const hub = new SimHubble({ clusterName });
  const dp = await testDatapath(t);
  const targets = [];
  for (const node of nodes) {
    const agent = await startHubbleAgent({ hub, node, ip: nodeIP(node), config: labConfig, net: agentPod(dp, node), version: '1.19.1' });
    t.teardown(() => agent.stop());
    targets.push({ address: agent.metricsAddress!, labels: { node } });
  }
  return { hub, targets };
}

/** coordinator → llm-service over HTTP across nodes (every fifth a 503), a probe denied 3 times, one DNS lookup. */
export function demoTraffic(sink: (flow: Flow, node: string) => void, n: number): void {
  const coordinator = demoEndpoint('agent-coordinator-5d9c7b8f4-abcde', 'agent-coordinator', 'sim-worker', '127.244.1.10');
  const llm = demoEndpoint('llm-service-6f8b9c7d5-fghij', 'llm-service', 'sim-worker2', '127.244.2.11');
  const probe = demoEndpoint('test-pod', 'test-pod', 'sim-worker', '127.244.1.12');
  for (let i = 0; i < n; i++) {
    const conn = new ConnectionFlows({ client: coordinator, server: llm, protocol: 'TCP', clientPort: 41000 + i, serverPort: 80 }, sink, { clusterName });
    conn.packet('client', { SYN: true }, { ingress: { side: 'ingress', verdict: 'REDIRECTED', matchType: 2 } });
    conn.packet('server', { SYN: true, ACK: true });
    conn.httpRequest('ingress', { method: 'POST', url: 'http://llm-service/v1/generate' });
    conn.httpResponse('ingress', {
      code: i % 5 === 0 ? 503 : 200,
      method: 'POST',
      url: 'http://llm-service/v1/generate',
      latencyNs: BigInt((i % 2 ? 30 : 200) * 1_000_000),
    });
    conn.packet('client', { FIN: true, ACK: true });
  }
  for (let i = 0; i < 3; i++) {
    const denied = new ConnectionFlows({ client: probe, server: llm, protocol: 'TCP', clientPort: 42000 + i, serverPort: 80 }, sink, { clusterName });
    denied.policyVerdict({ side: 'ingress', verdict: 'DROPPED', matchType: 0, dropReason: 'POLICY_DENIED' }, { SYN: true });
    denied.drop('ingress', 'POLICY_DENIED', { SYN: true });
  }
  const dns = new ConnectionFlows({ client: coordinator, server: { ...llm, ip: '127.96.0.10' }, protocol: 'UDP', clientPort: 43000, serverPort: 53 }, sink, {
    clusterName,
  });
  dns.dnsRequest('llm-service.demo.svc.cluster.local.', ['A']);
  dns.dnsResponse({
    query: 'llm-service.demo.svc.cluster.local.',
    qtypes: ['A'],
    ips: ['127.96.1.5'],
    ttl: 30,
    rcode: 0,
    rrtypes: ['A'],
    latencyNs: 1_000_000n,
  });
}
