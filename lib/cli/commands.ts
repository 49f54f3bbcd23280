// The subcommands as `hubble-lab --help` lists them: name and summary written here, so that the list prints without
// loading any command module (a test checks each summary against its module's); the module loads on use.
import type { Command } from '../command.ts';

export interface CommandEntry {
  name: string;
  summary: string;
  /** The heading it is listed under in `hubble-lab --help`. */
  group: string;
  load: () => Promise<Command>;
}

export const commandTable: readonly CommandEntry[] = [
  {
    name: 'observe',
    group: 'Read and analyze flows',
    summary: 'show Hubble flows from a file or a live server, filtered with hubble observe flags',
    load: async () => (await import('../commands/observe.ts')).observeCommand,
  },
  {
    name: 'analyze',
    group: 'Read and analyze flows',
    summary: 'analyze flows into report.md/report.json/junit.xml and gate CI on the compliance verdict',
    load: async () => (await import('../commands/analyze.ts')).analyzeCommand,
  },
  {
    name: 'policy',
    group: 'Read and analyze flows',
    summary: 'suggest least-privilege policies from flows, or check policies against flows (what-if)',
    load: async () => (await import('../commands/policy.ts')).policyCommand,
  },
  {
    name: 'relay',
    group: 'Read and analyze flows',
    summary: 'serve a flows export over the Hubble Relay gRPC API (for hubble observe/status and hubble-lab)',
    load: async () => (await import('../commands/relay.ts')).relayCommand,
  },
  {
    name: 'run',
    group: 'Run the lab',
    summary: 'run the lab: enable Hubble, deploy Relay/UI and the demo, apply the policy, generate traffic, collect, analyze, gate',
    load: async () => (await import('../commands/run.ts')).runCommand,
  },
  {
    name: 'sim',
    group: 'Run the lab',
    summary: 'run the embedded Kubernetes cluster (kind + Cilium look-alike) until Ctrl-C',
    load: async () => (await import('../commands/sim.ts')).simCommand,
  },
  {
    name: 'doctor',
    group: 'Run the lab',
    summary: "check the API, Cilium and its agents, the Hubble config, Relay and UI, Relay's status, nodes and flow rate",
    load: async () => (await import('../commands/doctor.ts')).doctorCommand,
  },
  {
    name: 'port-forward',
    group: 'Run the lab',
    summary: 'forward Hubble Relay to 127.0.0.1:4245 and Hubble UI to 127.0.0.1:8080 until interrupted',
    load: async () => (await import('../commands/port-forward.ts')).portForwardCommand,
  },
  {
    name: 'teardown',
    group: 'Run the lab',
    summary: 'remove what the lab created and restore the cilium-config values it changed',
    load: async () => (await import('../commands/teardown.ts')).teardownCommand,
  },
];
