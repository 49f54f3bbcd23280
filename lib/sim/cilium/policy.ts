// The policies the agents enforce: NetworkPolicies and Cilium policies from the API server, compiled again after each
// change, with decisions cached per pair of endpoints until policies or endpoints change.
import { compilePolicies, evaluateConnection, type Decision, type PolicySet, type Protocol, type RejectedPolicy } from '../../policy/index.ts';
import { R, resource } from '../apiserver/resources.ts';
import type { Store, StoreEvent } from '../apiserver/store.ts';
import type { EndpointDirectory, ResolvedEndpoint } from './endpoints.ts';

const clusterwidePolicies = resource('cilium.io', 'ciliumclusterwidenetworkpolicies');
const policyResources = new Set([R.networkpolicies, R.ciliumnetworkpolicies, clusterwidePolicies]);
const decisionCacheLimit = 65_536;

export class PolicyState {
  private set: PolicySet | undefined;
  private readonly cache = new Map<string, Decision>();
  private cachedGeneration = -1;
  private readonly unsubscribe: () => void;
  /** The policy repository's revision: 1 at start, one more for each change of a policy object. */
  revision = 1;

  constructor(
    private readonly store: Store,
    private readonly endpoints: EndpointDirectory,
    private readonly clusterName: string,
    private readonly onRejected: (rejected: RejectedPolicy) => void = () => {},
  ) {
    this.unsubscribe = store.subscribe((ev) => this.changed(ev));
  }

  stop(): void {
    this.unsubscribe();
  }

  private changed(ev: StoreEvent): void {
    if (!policyResources.has(ev.res)) return;
    this.revision++;
    // Compiled again lazily, at the next connection: a burst of applies costs one compile.
    this.set = undefined;
    this.cache.clear();
  }

  /** The compiled policies as they are now. */
  policies(): PolicySet {
    if (!this.set) {
      const objects = [...this.store.list(R.networkpolicies), ...this.store.list(R.ciliumnetworkpolicies), ...this.store.list(clusterwidePolicies)];
      this.set = compilePolicies(objects, { clusterName: this.clusterName });
      for (const r of this.set.rejected) this.onRejected(r);
    }
    return this.set;
  }

  /** The verdict for the first packet of a connection from `source` to `destination` on protocol/port (after Service translation). */
  decide(source: ResolvedEndpoint, destination: ResolvedEndpoint, protocol: Protocol, port: number): Decision {
    if (this.cachedGeneration !== this.endpoints.generation) {
      this.cache.clear();
      this.cachedGeneration = this.endpoints.generation;
    }
    const set = this.policies();
    const key = `${source.key}>${destination.key}|${protocol}|${port}`;
    let d = this.cache.get(key);
    if (!d) {
      d = evaluateConnection(set, { source: source.policy, destination: destination.policy, protocol, port });
      if (this.cache.size >= decisionCacheLimit) this.cache.clear();
      this.cache.set(key, d);
    }
    return d;
  }
}
