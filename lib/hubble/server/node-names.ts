// The nodes behind a Relay as Hubble names them: `cluster/node`, the cluster left out for the cluster named "default"
// (Cilium's node Fullname), read from the records of an export.
import type { GetFlowsResponse } from '../../flows/types.ts';

/** Cilium's default cluster name: its nodes are named without a prefix. */
const DEFAULT_CLUSTER = 'default';

/**
 * A node name in the form Relay and the agents use, so that one node is one name: `default/node` is `node`, as
 * Hubble's node-name filter reads a bare name as one in the cluster named "default".
 */
export function relayNodeName(name: string): string {
  return name.startsWith(`${DEFAULT_CLUSTER}/`) ? name.slice(DEFAULT_CLUSTER.length + 1) : name;
}

/**
 * The nodes a record speaks for: a flow's or a lost event's node, the nodes a node_status event names. The
 * node_name of a node_status record is not one of them: Relay puts its own name there (it runs on a node but
 * observes none), often without the cluster prefix the agents' names carry.
 */
export function recordNodes(r: GetFlowsResponse): string[] {
  if (r.node_status) return (r.node_status.node_names ?? []).filter((n) => n !== '').map(relayNodeName);
  const own = r.flow?.node_name ?? r.node_name;
  return own ? [relayNodeName(own)] : [];
}
