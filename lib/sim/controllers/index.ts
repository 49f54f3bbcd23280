// Wires every controller of the sim to one store: workloads, endpoints, scheduling, kubelet, garbage collection, namespaces.
import type { Registry } from '../apiserver/registry.ts';
import type { PodRuntime } from '../runtime/types.ts';
import { daemonSetController } from './daemonset.ts';
import { deploymentController } from './deployment.ts';
import { endpointsController } from './endpoints.ts';
import { EventRecorder } from './events.ts';
import { garbageCollector } from './gc.ts';
import { jobController } from './job.ts';
import { Kubelet } from './kubelet.ts';
import { ControllerManager, type ControllerContext } from './manager.ts';
import { namespaceController } from './namespace.ts';
import { replicaSetController } from './replicaset.ts';
import { scheduler } from './scheduler.ts';

export interface Controllers {
  kubelet: Kubelet;
  events: EventRecorder;
  stop(): Promise<void>;
}

export function startControllers(registry: Registry, runtime: PodRuntime, rootCA: string): Controllers {
  const events = new EventRecorder(registry);
  const ctx: ControllerContext = { store: registry.store, registry, events };
  const manager = new ControllerManager(registry.store);
  const kubelet = new Kubelet(ctx, runtime);
  for (const c of [
    namespaceController(ctx, () => rootCA),
    garbageCollector(ctx),
    deploymentController(ctx),
    replicaSetController(ctx),
    daemonSetController(ctx),
    jobController(ctx),
    scheduler(ctx),
    kubelet,
    endpointsController(ctx),
  ]) {
    manager.add(c);
  }
  manager.start();
  return { kubelet, events, stop: () => manager.stop() };
}
