// What a tool started in a sim container knows of it (passed by the runtime, then removed from the environment):
// the pod's resolver settings, and where the container's paths really are (its root and volume mounts).
import { join, normalize, posix } from 'node:path';

const raw = process.env.HUBBLE_LAB_SIM_CONTAINER;
delete process.env.HUBBLE_LAB_SIM_CONTAINER;
const layout = raw ? JSON.parse(raw) : { resolv: {}, rootfs: process.cwd(), mounts: [], cwd: '/' };

export const resolv = layout.resolv;

/** The real path of a path inside the container, through its mounts (as the runtime maps them). */
export function containerPath(p) {
  if (p === '/dev/null') return p;
  const abs = normalize(posix.resolve(layout.cwd, p));
  let best;
  for (const [mountPath, real] of layout.mounts) {
    if ((abs === mountPath || abs.startsWith(`${mountPath}/`)) && (!best || mountPath.length > best[0].length)) best = [mountPath, real];
  }
  return best ? join(best[1], abs.slice(best[0].length)) : join(layout.rootfs, abs);
}
