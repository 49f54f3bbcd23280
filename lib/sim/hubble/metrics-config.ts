// The Hubble metrics settings a Cilium agent takes from cilium-config: `hubble-metrics-server`, `hubble-metrics` and
// `enable-hubble-open-metrics`, split and validated the way Cilium's hubble-metrics cell does it.
import { AgentConfigError, parseAddress, parseBool } from './config-values.ts';
import { parseContextOptions } from './metrics-context.ts';

/** One `name:opt=value;opt` entry of `hubble-metrics`; option keys keep their spelling, lookups ignore case. */
export interface MetricSpec {
  name: string;
  options: Record<string, string>;
}

export interface HubbleMetricsConfig {
  /** hubble-metrics-server as a port on the agent pod; undefined: no metrics server (Cilium's default). */
  port: number | undefined;
  /** The server's address names 127.0.0.1/localhost: reachable from inside the agent's pod only. */
  loopbackOnly: boolean;
  metrics: MetricSpec[];
  /** enable-hubble-open-metrics: OpenMetrics (with exemplars) when a scraper asks for it. */
  openMetrics: boolean;
}

/** The metric plugins Cilium registers; the sim computes all but kafka and sctp (it has neither kind of traffic). */
export const knownMetrics = ['dns', 'drop', 'flow', 'flows-to-world', 'http', 'httpV2', 'icmp', 'kafka', 'policy', 'port-distribution', 'sctp', 'tcp'] as const;

/** Plugins that register the same metric names and cannot run together. */
const conflicts: Record<string, string> = { http: 'httpV2', httpV2: 'http' };

/** Cilium's ParseOptions: `;` between options, the first `=` between key and value, a bare key has value "". */
export function parseMetricOptions(text: string): Record<string, string> {
  const options: Record<string, string> = {};
  for (const option of text.split(';')) {
    if (option === '') continue;
    const eq = option.indexOf('=');
    if (eq < 0) options[option] = '';
    else options[option.slice(0, eq)] = option.slice(eq + 1);
  }
  return options;
}

/**
 * `hubble-metrics` as Cilium reads it: whitespace-separated entries (strings.Fields), each `name[:options]`. A
 * comma-separated list is therefore one unknown name, and the agent refuses it as Cilium does.
 */
export function parseMetricList(text: string): MetricSpec[] {
  const specs: MetricSpec[] = [];
  for (const entry of text.split(/\s+/).filter(Boolean)) {
    const colon = entry.indexOf(':');
    const name = colon < 0 ? entry : entry.slice(0, colon);
    specs.push({ name, options: colon < 0 ? {} : parseMetricOptions(entry.slice(colon + 1)) });
  }
  const names = new Set(specs.map((s) => s.name));
  for (const s of specs) {
    if (!(knownMetrics as readonly string[]).includes(s.name)) throw new AgentConfigError(`failed to setup hubble metrics: metric '${s.name}' does not exist`);
    const other = conflicts[s.name];
    if (other && names.has(other)) throw new AgentConfigError(`failed to setup hubble metrics: plugin ${s.name} conflicts with plugin ${other}`);
    try {
      parseContextOptions(s.options);
    } catch (err) {
      throw new AgentConfigError(`failed to setup hubble metrics: unable to initialize metric '${s.name}': ${(err as Error).message}`);
    }
  }
  return specs;
}

/**
 * The metrics settings from cilium-config's data. With an empty `hubble-metrics-server` Cilium starts no metrics
 * server and ignores `hubble-metrics`; otherwise an unknown metric, a conflict or a bad context option stops the agent.
 */
export function hubbleMetricsConfig(data: Record<string, string> | undefined): HubbleMetricsConfig {
  const server = parseAddress('hubble-metrics-server', data?.['hubble-metrics-server'], ':9965');
  if (server.port === undefined) return { port: undefined, loopbackOnly: false, metrics: [], openMetrics: false };
  return {
    port: server.port,
    loopbackOnly: server.loopback,
    metrics: parseMetricList(data?.['hubble-metrics'] ?? ''),
    openMetrics: parseBool(data?.['enable-hubble-open-metrics']),
  };
}
