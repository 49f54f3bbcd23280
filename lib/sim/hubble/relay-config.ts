// hubble-relay's settings from its command line (`serve --flag=value …`) and config file, with Relay's defaults.
import { parseGoDuration } from '../../hubble/filter/time.ts';
import { peerTarget, type PeerTarget } from './peer-watch.ts';

export interface RelayConfig {
  /** Pod port Relay serves on (--listen-address; the lab's manifest spells it --local-server-address). */
  listenPort: number;
  /** --peer-service: where the agents' Peer service is reached. */
  peerService: PeerTarget;
  dialTimeoutMs: number;
  /** Longest wait before redialling a peer or the peer service (--retry-timeout). */
  retryTimeoutMs: number;
  sortBufferMaxLen: number;
  sortBufferDrainMs: number;
}

/** A setting Relay refuses; the message is what it prints before exiting. */
export class RelayConfigError extends Error {}

export const relayDefaults = {
  listenAddress: ':4245',
  peerService: 'hubble-peer.kube-system.svc.cluster.local:443',
  dialTimeout: '5s',
  retryTimeout: '30s',
  sortBufferLenMax: '100',
  sortBufferDrainTimeout: '1s',
};

/** Flags hubble-relay accepts that change nothing in the sim (TLS, redaction, debugging endpoints). */
const ignoredFlags =
  /^(debug|D|pprof|pprof-address|pprof-port|gops|gops-port|cluster-name|metrics-listen-address|health-listen-address|disable-client-tls|disable-server-tls|tls-.*|redact-.*|config)$/;

const known = new Set([
  'listen-address',
  'local-server-address',
  'peer-service',
  'dial-timeout',
  'retry-timeout',
  'sort-buffer-len-max',
  'sort-buffer-drain-timeout',
]);

function port(value: string, key: string): number {
  const colon = value.lastIndexOf(':');
  const text = colon >= 0 ? value.slice(colon + 1) : '';
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new RelayConfigError(`invalid argument "${value}" for "--${key}": expected [host]:port`);
  return n;
}

function durationMs(value: string, key: string): number {
  const ns = parseGoDuration(value);
  if (ns === undefined || ns < 0) throw new RelayConfigError(`invalid argument "${value}" for "--${key}" flag: time: invalid duration "${value}"`);
  return ns / 1e6;
}

/**
 * Reads `serve` flags (`--key=value` or `--key value`) over the config file's keys over the defaults. Returns
 * warnings for flags the sim does not know (Relay would reject them; the sim carries on).
 */
export function relayConfig(argv: readonly string[], file: Record<string, unknown> = {}): { config: RelayConfig; warnings: string[] } {
  const values: Record<string, string> = {};
  const warnings: string[] = [];
  for (const [k, v] of Object.entries(file)) if (v !== null && typeof v !== 'object') values[k] = String(v);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) continue;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const key = eq >= 0 ? body.slice(0, eq) : body;
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (known.has(key)) {
      if (value === undefined) value = argv[++i];
      if (value === undefined) throw new RelayConfigError(`flag needs an argument: --${key}`);
      values[key] = value;
    } else if (!ignoredFlags.test(key)) {
      warnings.push(`unknown flag: --${key}`);
    }
  }
  const listen = values['local-server-address'] ?? values['listen-address'] ?? relayDefaults.listenAddress;
  const peerText = values['peer-service'] ?? relayDefaults.peerService;
  const peerService = peerTarget(peerText.replace(/^dns:\/\/\/?/, ''));
  if (!peerService || peerText.startsWith('unix://')) {
    throw new RelayConfigError(`--peer-service "${peerText}": the sim's Relay reaches the peer service over TCP (host:port)`);
  }
  const maxLen = Number(values['sort-buffer-len-max'] ?? relayDefaults.sortBufferLenMax);
  if (!Number.isInteger(maxLen) || maxLen < 1)
    throw new RelayConfigError(`--sort-buffer-len-max must be a positive integer, not ${values['sort-buffer-len-max']}`);
  return {
    config: {
      listenPort: port(listen, 'listen-address'),
      peerService,
      dialTimeoutMs: durationMs(values['dial-timeout'] ?? relayDefaults.dialTimeout, 'dial-timeout'),
      retryTimeoutMs: durationMs(values['retry-timeout'] ?? relayDefaults.retryTimeout, 'retry-timeout'),
      sortBufferMaxLen: maxLen,
      sortBufferDrainMs: durationMs(values['sort-buffer-drain-timeout'] ?? relayDefaults.sortBufferDrainTimeout, 'sort-buffer-drain-timeout'),
    },
    warnings,
  };
}
