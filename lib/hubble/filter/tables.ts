// Hubble's lookup tables for filters: event types and sub-types, reserved identities, and proto enum names.
import { reservedIdentityNumbers } from '../../flows/reserved.ts';
import { hubbleRoot } from '../grpc/protos.ts';

/** Cilium monitor message types by the names `hubble observe --type` accepts (pkg/monitor/api). */
export const messageTypes: Readonly<Record<string, number>> = {
  drop: 1,
  debug: 2,
  capture: 3,
  trace: 4,
  'policy-verdict': 5,
  recorder: 6,
  'trace-sock': 7,
  l7: 129,
  agent: 130,
};

export const MESSAGE_TYPE_TRACE = 4;
export const MESSAGE_TYPE_ACCESS_LOG = 129;
export const MESSAGE_TYPE_AGENT = 130;

/** The types that carry flows; agent, debug and recorder events have their own hubble subcommands. */
export const flowEventTypes = ['capture', 'drop', 'l7', 'policy-verdict', 'trace', 'trace-sock'] as const;

/** Trace observation points (the sub-type of trace events) by name. */
export const traceObservationPoints: Readonly<Record<string, number>> = {
  'to-endpoint': 0,
  'to-proxy': 1,
  'to-host': 2,
  'to-stack': 3,
  'to-overlay': 4,
  'from-endpoint': 5,
  'from-proxy': 6,
  'from-host': 7,
  'from-stack': 8,
  'from-overlay': 9,
  'from-network': 10,
  'to-network': 11,
  'from-crypto': 12,
  'to-crypto': 13,
};

/** Trace observation points by sub-type number: how the CLI prints them and how Hubble's metrics label them. */
export const traceObservationPointNames: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(traceObservationPoints).map(([name, n]) => [n, name]),
);

/** Agent notification sub-types, in the CLI-friendly spelling hubble accepts. */
export const agentEventSubtypes: Readonly<Record<string, number>> = {
  unspecified: 0,
  message: 1,
  'agent-started': 2,
  'endpoint-regenerate-success': 3,
  'endpoint-regenerate-failure': 4,
  'policy-updated': 5,
  'policy-deleted': 6,
  'endpoint-created': 7,
  'endpoint-deleted': 8,
  'ipcache-upserted': 9,
  'ipcache-deleted': 10,
};

/** Cilium's reserved security identities, as `--identity` accepts them by name. */
export const reservedIdentities: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(reservedIdentityNumbers).filter(([name]) => name !== 'unknown' && name !== 'overlay-to-encrypt'),
);

const enumCache = new Map<string, Readonly<Record<string, number>>>();

/** Name → number of a proto enum from proto/*.proto, e.g. `enumValues('flow.DropReason')`. */
export function enumValues(fullName: string): Readonly<Record<string, number>> {
  let values = enumCache.get(fullName);
  if (!values) {
    values = hubbleRoot.lookupEnum(fullName).values;
    enumCache.set(fullName, values);
  }
  return values;
}

/** The name of an enum value given as a name or a number (protojson accepts both); undefined when unknown. */
export function enumName(fullName: string, value: string | number): string | undefined {
  const values = enumValues(fullName);
  if (typeof value === 'string') return Object.hasOwn(values, value) ? value : undefined;
  for (const [name, n] of Object.entries(values)) if (n === value) return name;
  return undefined;
}
