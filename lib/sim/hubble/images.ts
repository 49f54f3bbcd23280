// The Cilium agent, Hubble Relay and Hubble UI images as the sim's pod runtime runs them: in process, reading their
// configuration the way the real containers do (config dir, flags, env) and serving on their pod's ports.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ContainerContext, ContainerProcess, ImageHandler } from '../runtime/images.ts';
import { parseImage } from '../runtime/images.ts';
import { startHubbleAgent } from './agent.ts';
import { AgentConfigError, hubbleAgentConfig } from './agent-config.ts';
import type { SimHubble } from './hub.ts';
import { RelayConfigError, relayConfig } from './relay-config.ts';
import { startHubbleRelay } from './relay.ts';
import { startHubbleUi } from './ui.ts';
import { agentCommands } from './cilium-cli.ts';
import { SIM_VERSION } from '../apiserver/discovery.ts';
import { prometheusImage } from './metrics-prometheus.ts';

/** The container's argv as Kubernetes builds it: command, then args (no image defaults: these images have none we emulate). */
function argv(ctx: ContainerContext): string[] {
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  return [...list(ctx.container.command), ...list(ctx.container.args)];
}

/** `--name=value` or `--name value` from argv. */
function flag(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${name}`) return args[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/** The version in an image tag (`quay.io/cilium/cilium:v1.16.5` → 1.16.5), or `fallback`. */
export function imageVersion(image: string, fallback: string): string {
  const { ref, repository } = parseImage(image);
  const tag = ref.slice(repository.length).replace(/^:/, '').replace(/@.*$/, '');
  return /^v?\d+\.\d+/.test(tag) ? tag.replace(/^v/, '') : fallback;
}

/** A container that has done its work and exited. */
function exited(code: number): ContainerProcess {
  return { exited: Promise.resolve(code), stop() {} };
}

/** A ConfigMap mounted as a directory: one file per key (the `..data` links and dotfiles left out). */
async function readConfigDir(dir: string): Promise<Record<string, string>> {
  const data: Record<string, string> = {};
  for (const name of await readdir(dir)) {
    if (name.startsWith('.')) continue;
    data[name] = await readFile(join(dir, name), 'utf8');
  }
  return data;
}

const agentFlags = [
  'enable-hubble',
  'hubble-listen-address',
  'hubble-event-buffer-capacity',
  'hubble-metrics-server',
  'hubble-metrics',
  'enable-hubble-open-metrics',
  'service-no-backend-response',
];

/** What else reads an agent's configuration when it starts; throwing an AgentConfigError stops the agent. */
export interface AgentHooks {
  /** The agent on `node` starts with this cilium-config (the datapath settings it programs for its node). */
  starting?(node: string, config: Record<string, string>): void;
  /** The endpoints (pods) on `node`, for `cilium status`. */
  endpoints?(node: string): number;
}

/**
 * quay.io/cilium/cilium: `cilium-agent` reads cilium-config once, at start (from its --config-dir as the DaemonSet
 * mounts it, else the ConfigMap in its namespace; flags win) and serves Hubble for its node when enabled. The image's
 * other commands (init steps) succeed at once.
 */
export function ciliumAgentImage(hub: SimHubble, hooks: AgentHooks = {}): ImageHandler {
  return async (ctx) => {
    const args = argv(ctx);
    if (args.length > 0 && !args.some((a) => a.split('/').pop() === 'cilium-agent')) return exited(0);
    const version = imageVersion(ctx.container.image ?? '', '1.19.1');
    let data: Record<string, string> = { ...ctx.cluster.configMap(ctx.pod.namespace, 'cilium-config') };
    const configDir = flag(args, 'config-dir');
    try {
      if (configDir) data = await readConfigDir(ctx.path(configDir));
    } catch (err) {
      ctx.log(`level=fatal msg="Unable to read configuration directory" configDir=${configDir} error="${(err as Error).message}" subsys=daemon`);
      return exited(1);
    }
    for (const name of agentFlags) {
      const v = flag(args, name);
      if (v !== undefined) data[name] = v;
    }
    try {
      hooks.starting?.(ctx.pod.nodeName, data);
    } catch (err) {
      if (!(err instanceof AgentConfigError)) throw err;
      ctx.log(`level=fatal msg="${err.message}" subsys=daemon`);
      return exited(1);
    }
    let config;
    try {
      config = hubbleAgentConfig(data);
    } catch (err) {
      if (!(err instanceof AgentConfigError)) throw err;
      ctx.log(`level=fatal msg="Failed to configure Hubble" error="${err.message}" subsys=hubble`);
      return exited(1);
    }
    ctx.log(`level=info msg="Cilium ${version}" subsys=daemon`);
    const agent = await startHubbleAgent({ hub, node: ctx.pod.nodeName, ip: ctx.pod.podIP, config, net: ctx.net, version, log: ctx.log });
    const node = ctx.pod.nodeName;
    const commands = agentCommands({
      node,
      version,
      kubernetesVersion: SIM_VERSION.gitVersion,
      agent,
      endpoints: () => hooks.endpoints?.(node) ?? 0,
      health: () => ({ reachable: hub.peers().length, total: hub.peers().length }),
      metrics: () => hub.metricsEndpoints().some((m) => m.node === node),
      startedAt: new Date(),
    });
    return { stop: () => agent.stop(), commands };
  };
}

/** quay.io/cilium/hubble-relay: `hubble-relay serve` with its flags over /etc/hubble-relay/config.yaml when mounted. */
export function hubbleRelayImage(opts: { healthIntervalMs?: number } = {}): ImageHandler {
  return async (ctx) => {
    let file: Record<string, unknown> = {};
    try {
      const parsed: unknown = parseYaml(await readFile(ctx.path('/etc/hubble-relay/config.yaml'), 'utf8'));
      if (parsed && typeof parsed === 'object') file = parsed as Record<string, unknown>;
    } catch {
      // No config file mounted: flags and defaults only, as with the lab's manifest.
    }
    let parsed;
    try {
      parsed = relayConfig(argv(ctx), file);
    } catch (err) {
      if (!(err instanceof RelayConfigError)) throw err;
      ctx.log(`Error: ${err.message}`);
      return exited(1);
    }
    for (const w of parsed.warnings) ctx.log(`level=warning msg="ignoring ${w}" subsys=hubble-relay`);
    const relay = await startHubbleRelay({
      config: parsed.config,
      dial: (host, port) => ctx.net.connect(host, port),
      net: ctx.net,
      version: imageVersion(ctx.container.image ?? '', '1.19.1'),
      relayNodeName: ctx.pod.nodeName,
      log: ctx.log,
      ...(opts.healthIntervalMs ? { healthIntervalMs: opts.healthIntervalMs } : {}),
    });
    return { stop: () => relay.stop() };
  };
}

/** quay.io/cilium/hubble-ui: the service map on the pod's 8081, read from Relay at FLOWS_API_ADDR. */
export function hubbleUiImage(): ImageHandler {
  return async (ctx) => {
    const relayAddress = ctx.env['FLOWS_API_ADDR'] || 'hubble-relay:80';
    const ui = await startHubbleUi({ relayAddress, dial: (host, port) => ctx.net.connect(host, port), listen: ctx.net.listen, log: ctx.log });
    ctx.log(`hubble-ui: serving the service map on :8081, flows from ${relayAddress}`);
    return { stop: () => ui.stop() };
  };
}

/** Registers the agent, Relay and UI images with the sim's pod runtime. */
export function registerHubbleImages(
  runtime: { registerImageHandler(pattern: string, handler: ImageHandler): void },
  hub: SimHubble,
  agentHooks: AgentHooks = {},
): void {
  runtime.registerImageHandler('quay.io/cilium/cilium', ciliumAgentImage(hub, agentHooks));
  runtime.registerImageHandler('quay.io/cilium/hubble-relay', hubbleRelayImage());
  runtime.registerImageHandler('quay.io/cilium/hubble-ui', hubbleUiImage());
  runtime.registerImageHandler('prom/prometheus', prometheusImage(hub));
}
