// The commands a Cilium agent container offers to `kubectl exec`: `cilium status` / `cilium-dbg status` from the
// agent's live state, and `hubble observe` / `hubble status` against the agent's own Hubble server.
import { Readable } from 'node:stream';
import { parseArgs } from '../../args.ts';
import { HubbleLabError } from '../../errors.ts';
import { observeCommand } from '../../commands/observe.ts';
import type { ImageCommand, ImageCommandIO } from '../runtime/shell.ts';
import type { HubbleAgent } from './agent.ts';

export interface AgentCliState {
  /** Kubernetes node of the agent. */
  node: string;
  /** The agent's version (from its image tag). */
  version: string;
  /** The Kubernetes version the agent talks to, as /version reports it. */
  kubernetesVersion: string;
  agent: HubbleAgent;
  /** Pods (not host-network) on the agent's node: its endpoints. */
  endpoints(): number;
  /** Nodes whose agents answer, and all nodes. */
  health(): { reachable: number; total: number };
  /** The agent serves Hubble metrics. */
  metrics(): boolean;
  startedAt: Date;
}

const hubbleSocket = 'unix:///var/run/cilium/hubble.sock';

function pad(label: string, value: string): string {
  return `${`${label}:`.padEnd(25)}${value}`;
}

/** Go's %.2f; flows per second as Hubble computes them (flows seen over the ring's span). */
function hubbleLine(s: AgentCliState): string {
  const ring = s.agent.ring;
  if (!s.agent.enabled || !ring) return 'Disabled';
  const current = ring.numFlows;
  const max = ring.capacity;
  const pct = max > 0 ? ((current / max) * 100).toFixed(2) : '0.00';
  return `Ok              Current/Max Flows: ${current}/${max} (${pct}%), Flows/s: ${ring.flowsRate().toFixed(2)}   Metrics: ${s.metrics() ? 'Ok' : 'Disabled'}`;
}

export function ciliumStatus(s: AgentCliState): string {
  const k8s = s.kubernetesVersion.replace(/^v/, '');
  const short = k8s.split('.').slice(0, 2).join('.');
  const { reachable, total } = s.health();
  const endpoints = s.endpoints();
  return [
    pad('KVStore', 'Disabled'),
    pad('Kubernetes', `Ok         ${short} (v${k8s}) [linux/amd64]`),
    pad(
      'Kubernetes APIs',
      '["EndpointSliceOrEndpoint", "cilium/v2::CiliumClusterwideNetworkPolicy", "cilium/v2::CiliumEndpoint", "cilium/v2::CiliumNetworkPolicy", "cilium/v2::CiliumNode", "core/v1::Namespace", "core/v1::Pods", "core/v1::Service", "networking.k8s.io/v1::NetworkPolicy"]',
    ),
    pad('KubeProxyReplacement', 'False'),
    pad('Host firewall', 'Disabled'),
    pad('CNI Chaining', 'none'),
    pad('Cilium', `Ok   ${s.version} (v${s.version})`),
    pad('NodeMonitor', 'Listening for events on 2 CPUs with 64x4096 of shared memory'),
    pad('Cilium health daemon', 'Ok'),
    pad('IPAM', `IPv4: ${endpoints}/254 allocated`),
    pad('Endpoints', `${endpoints} ready`),
    pad('Routing', 'Network: Tunnel [vxlan]   Host: Legacy'),
    pad('Controller Status', 'all healthy'),
    pad('Hubble', hubbleLine(s)),
    pad('Encryption', 'Disabled'),
    pad('Cluster health', `${reachable}/${total} reachable   (${s.startedAt.toISOString().replace(/\.\d+Z$/, 'Z')})`),
    '',
  ].join('\n');
}

async function writeText(io: ImageCommandIO, text: string): Promise<void> {
  await new Promise<void>((resolve) => io.stdout.write(text, () => resolve()));
}

function ciliumCli(s: AgentCliState, name: string): ImageCommand {
  return async (args, io) => {
    const sub = args.find((a) => !a.startsWith('-'));
    if (sub === 'status') {
      await writeText(io, ciliumStatus(s));
      return 0;
    }
    if (sub === 'version') {
      await writeText(io, `Client: ${s.version} linux/amd64\nDaemon: ${s.version} linux/amd64\n`);
      return 0;
    }
    io.stderr.write(`Error: unknown command "${sub ?? ''}" for "${name}" (the simulated agent answers status and version)\nRun '${name} --help' for usage.\n`);
    return 1;
  };
}

/** `hubble observe` and `hubble status`, the agent's local Hubble server answering, as through its unix socket. */
function hubbleCli(s: AgentCliState): ImageCommand {
  return async (args, io) => {
    const [sub, ...rest] = args;
    const address = s.agent.localAddress;
    if (sub === 'status') {
      if (!address || !s.agent.ring) {
        io.stderr.write(
          `failed to connect to '${hubbleSocket}': connection error: desc = "transport: Error while dialing: dial unix /var/run/cilium/hubble.sock: connect: no such file or directory"\n`,
        );
        return 1;
      }
      const ring = s.agent.ring;
      const pct = ((ring.numFlows / ring.capacity) * 100).toFixed(2);
      await writeText(
        io,
        `Healthcheck (via ${hubbleSocket}): Ok\nCurrent/Max Flows: ${ring.numFlows.toLocaleString('en-US')}/${ring.capacity.toLocaleString('en-US')} (${pct}%)\nFlows/s: ${ring.flowsRate().toFixed(2)}\n`,
      );
      return 0;
    }
    if (sub !== 'observe') {
      io.stderr.write(`Error: unknown command "${sub ?? ''}" for "hubble" (the simulated agent answers observe and status)\n`);
      return 1;
    }
    if (!address) {
      io.stderr.write(`failed to connect to '${hubbleSocket}': Hubble is not enabled on this agent\n`);
      return 1;
    }
    try {
      const parsed = parseArgs(['--server', address, ...rest], observeCommand.options, 'observe');
      return await observeCommand.run(parsed, {
        stdin: io.stdin ?? Readable.from([]),
        stdout: io.stdout,
        stderr: io.stderr,
        env: { NO_COLOR: '1' },
        signal: io.signal,
      });
    } catch (err) {
      if (!(err instanceof HubbleLabError)) throw err;
      io.stderr.write(`Error: ${err.message}\n`);
      return err.exitCode;
    }
  };
}

/** The executables of the agent image, for the runtime's exec. */
export function agentCommands(s: AgentCliState): Record<string, ImageCommand> {
  return { cilium: ciliumCli(s, 'cilium'), 'cilium-dbg': ciliumCli(s, 'cilium-dbg'), hubble: hubbleCli(s) };
}
