// The Hubble settings a Cilium agent takes from cilium-config when it starts: whether Hubble runs, where it
// listens, how many flows its ring buffer keeps, and which metrics it serves.
import { hubbleMetricsConfig, type HubbleMetricsConfig } from './metrics-config.ts';
import { noRedaction, type HubbleRedactConfig } from './agent-redact.ts';
import { AgentConfigError, parseAddress, parseBool } from './config-values.ts';

export interface HubbleAgentConfig {
  /** enable-hubble: the agent observes flows at all. */
  enabled: boolean;
  /**
   * hubble-listen-address as a port on the pod (undefined: Hubble serves only its local unix socket, so nothing
   * outside the agent, Relay included, can reach it, as with Cilium's empty default).
   */
  listenPort: number | undefined;
  /** The listen address names 127.0.0.1/localhost: reachable from inside the agent's pod only. */
  loopbackOnly: boolean;
  /** hubble-event-buffer-capacity. */
  capacity: number;
  /** hubble-metrics-server, hubble-metrics and enable-hubble-open-metrics. */
  metrics: HubbleMetricsConfig;
  /** hubble-redact-*: what the agent's parser removes from L7 flows before storing them. */
  redact: HubbleRedactConfig;
}

/** Cilium's default hubble-event-buffer-capacity. */
export const defaultEventBufferCapacity = 4095;
const maxEventBufferCapacity = 65535;

export { AgentConfigError };

function parseCapacity(value: string | undefined): number {
  const text = (value ?? '').trim();
  if (text === '') return defaultEventBufferCapacity;
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n)) {
    throw new AgentConfigError(`hubble-event-buffer-capacity ${JSON.stringify(text)}: not an integer`);
  }
  if (n > maxEventBufferCapacity) throw new AgentConfigError(`invalid capacity: too large: ${n}`);
  if (n <= 0 || (n & (n + 1)) !== 0) {
    throw new AgentConfigError(`invalid capacity: must be one less than an integer power of two: ${n}`);
  }
  return n;
}

/** A string-slice key: names separated by commas or spaces, lower-cased as the parser compares them. */
function parseNames(value: string | undefined): Set<string> {
  return new Set(
    (value ?? '')
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((n) => n.toLowerCase()),
  );
}

function parseRedact(data: Record<string, string> | undefined): HubbleRedactConfig {
  const allow = parseNames(data?.['hubble-redact-http-headers-allow']);
  const deny = parseNames(data?.['hubble-redact-http-headers-deny']);
  if (allow.size && deny.size) {
    throw new AgentConfigError('Only one of --hubble-redact-http-headers-allow and --hubble-redact-http-headers-deny can be specified, not both');
  }
  const userInfo = data?.['hubble-redact-http-userinfo'];
  return {
    enabled: parseBool(data?.['hubble-redact-enabled']),
    httpUrlQuery: parseBool(data?.['hubble-redact-http-urlquery']),
    httpUserInfo: userInfo === undefined || userInfo.trim() === '' ? true : parseBool(userInfo),
    kafkaApiKey: parseBool(data?.['hubble-redact-kafka-apikey']),
    headersAllow: allow,
    headersDeny: deny,
  };
}

/**
 * Reads the agent's Hubble settings from cilium-config's data (undefined: no ConfigMap, Hubble off). Throws an
 * AgentConfigError for values Cilium refuses at start; settings only matter when Hubble is enabled.
 */
export function hubbleAgentConfig(data: Record<string, string> | undefined): HubbleAgentConfig {
  const enabled = parseBool(data?.['enable-hubble']);
  if (!enabled)
    return {
      enabled,
      listenPort: undefined,
      loopbackOnly: false,
      capacity: defaultEventBufferCapacity,
      metrics: hubbleMetricsConfig(undefined),
      redact: noRedaction,
    };
  const listen = parseAddress('hubble-listen-address', data?.['hubble-listen-address'], ':4244');
  return {
    enabled,
    listenPort: listen.port,
    loopbackOnly: listen.loopback,
    capacity: parseCapacity(data?.['hubble-event-buffer-capacity']),
    metrics: hubbleMetricsConfig(data),
    redact: parseRedact(data),
  };
}
