// Port matching shared by every policy kind: numbers, ranges (endPort) and named ports of the destination pod.
import type { MatchContext, PortMatch } from './compiled.ts';
import type { Protocol } from './types.ts';

export interface PortSpec {
  /** undefined matches every protocol (Cilium's ANY). */
  protocol: Protocol | undefined;
  /** undefined matches every port of the protocol. */
  port?: number;
  endPort?: number;
  /** A named port, resolved against the destination pod's container ports. */
  name?: string;
}

/** IANA service names (what Kubernetes and Cilium accept as a port name) contain a letter; numbers do not. */
export function isPortName(text: string): boolean {
  return /[a-z]/i.test(text);
}

export function portMatches(spec: PortSpec, ctx: MatchContext): boolean {
  if (spec.protocol !== undefined && spec.protocol !== ctx.protocol) return false;
  if (spec.name !== undefined) {
    const dst = ctx.destination;
    if (dst.kind !== 'pod') return false;
    return (dst.ports ?? []).some((p) => p.name.toLowerCase() === spec.name && (p.protocol ?? 'TCP') === ctx.protocol && p.port === ctx.port);
  }
  if (spec.port === undefined) return true;
  return spec.endPort === undefined ? ctx.port === spec.port : ctx.port >= spec.port && ctx.port <= spec.endPort;
}

/** The most specific of the specs that match the packet (none given means any port); 'any' when none matches. */
export function portMatch(specs: readonly PortSpec[], ctx: MatchContext): PortMatch {
  let best: PortMatch = 'any';
  for (const spec of specs) {
    if (!portMatches(spec, ctx)) continue;
    if (spec.port !== undefined || spec.name !== undefined) return 'port';
    if (spec.protocol !== undefined) best = 'proto';
  }
  return best;
}
