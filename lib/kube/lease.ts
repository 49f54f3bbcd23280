// One lab run per cluster at a time: a coordination.k8s.io Lease held (and renewed) for the run, as controllers
// hold their leader-election leases; a second run finds it held and refuses, naming the holder.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { InfraError } from '../errors.ts';
import { apiError, apiStatusCode, isNotFound } from './errors.ts';

export const runLease = { namespace: 'kube-system', name: 'hubble-lab-run' } as const;

export interface LeaseOptions {
  /** How long the lease holds without a renewal (leaseDurationSeconds). */
  durationSeconds?: number;
  /** What the holder is called in the refusal other runs print; host, pid and a random suffix by default. */
  holder?: string;
  now?: () => Date;
}

export interface HeldLease {
  readonly holder: string;
  /** Stops renewing and deletes the lease (if it is still ours). */
  release(): Promise<void>;
}

/** Lease times are MicroTime: RFC 3339 with microseconds. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Why a lease another holder renewed recently still holds, or undefined when it has expired or is free. */
function heldBy(lease: V1Lease, now: Date): { holder: string; ageSeconds: number; leftSeconds: number } | undefined {
  const holder = lease.spec?.holderIdentity;
  const renewed = lease.spec?.renewTime ?? lease.spec?.acquireTime;
  if (!holder || !renewed) return undefined;
  const ageSeconds = (now.getTime() - new Date(renewed).getTime()) / 1000;
  const leftSeconds = (lease.spec?.leaseDurationSeconds ?? 0) - ageSeconds;
  return leftSeconds > 0 ? { holder, ageSeconds, leftSeconds } : undefined;
}

function refusal(held: { holder: string; ageSeconds: number; leftSeconds: number }): InfraError {
  const { namespace, name } = runLease;
  return new InfraError(
    `another lab run is using this cluster: Lease ${namespace}/${name} is held by ${held.holder} (renewed ${Math.round(held.ageSeconds)}s ago)`,
    {
      hint: `wait for that run to finish; if it is gone, its lease expires in ${Math.ceil(held.leftSeconds)}s (or: kubectl -n ${namespace} delete lease ${name})`,
    },
  );
}

/** Takes the run lease or throws an InfraError naming who holds it; the lease is renewed until released. */
export async function acquireRunLease(kc: KubeConfig, opts: LeaseOptions = {}): Promise<HeldLease> {
  const api = kc.makeApiClient(CoordinationV1Api);
  const { namespace, name } = runLease;
  const durationSeconds = opts.durationSeconds ?? 30;
  const holder = opts.holder ?? `${hostname()}/pid-${process.pid}/${randomUUID().slice(0, 8)}`;
  const now = opts.now ?? (() => new Date());
  const ours = (t: Date): V1Lease['spec'] => ({
    holderIdentity: holder,
    leaseDurationSeconds: durationSeconds,
    acquireTime: microTime(t) as never,
    renewTime: microTime(t) as never,
  });

  let current: V1Lease | undefined;
  try {
    current = await api.readNamespacedLease({ name, namespace });
  } catch (err) {
    // Without the right to read leases in kube-system the run goes on unguarded, as before leases.
    if (apiStatusCode(err) === 403) return { holder, release: async () => {} };
    if (!isNotFound(err)) throw apiError(`read Lease ${namespace}/${name}`, err);
  }
  const t = now();
  if (!current) {
    try {
      current = await api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: ours(t) } });
    } catch (err) {
      if (apiStatusCode(err) !== 409) throw apiError(`create Lease ${namespace}/${name}`, err);
      // Another run created it between our read and our create: it won.
      const winner = await api.readNamespacedLease({ name, namespace }).catch(() => undefined);
      throw refusal((winner && heldBy(winner, now())) ?? { holder: 'another run', ageSeconds: 0, leftSeconds: durationSeconds });
    }
  } else {
    const held = heldBy(current, t);
    if (held && held.holder !== holder) throw refusal(held);
    try {
      current = await api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...current, spec: { ...ours(t), leaseTransitions: (current.spec?.leaseTransitions ?? 0) + 1 } },
      });
    } catch (err) {
      if (apiStatusCode(err) !== 409) throw apiError(`take over Lease ${namespace}/${name}`, err);
      const winner = await api.readNamespacedLease({ name, namespace }).catch(() => undefined);
      throw refusal((winner && heldBy(winner, now())) ?? { holder: 'another run', ageSeconds: 0, leftSeconds: durationSeconds });
    }
  }

  let lease = current;
  let renewing: Promise<void> | undefined;
  // Renewed at a third of its duration, as leader election does, so a slow API call does not let it lapse.
  const timer = setInterval(
    () => {
      renewing ??= (async () => {
        try {
          lease = await api.replaceNamespacedLease({ name, namespace, body: { ...lease, spec: { ...lease.spec, renewTime: microTime(now()) as never } } });
        } catch {
          // A renewal that fails is retried on the next tick; the lease holds until its duration runs out.
        } finally {
          renewing = undefined;
        }
      })();
    },
    (durationSeconds * 1000) / 3,
  );
  timer.unref();

  let released: Promise<void> | undefined;
  return {
    holder,
    release() {
      released ??= (async () => {
        clearInterval(timer);
        await renewing;
        try {
          const live = await api.readNamespacedLease({ name, namespace });
          if (live.spec?.holderIdentity !== holder) return;
          await api.deleteNamespacedLease({ name, namespace, body: { preconditions: { resourceVersion: live.metadata?.resourceVersion } } });
        } catch {
          // Gone already, or the cluster is: the lease expires on its own.
        }
      })();
      return released;
    },
  };
}
