// Address and port allocation for Services: ClusterIPs from the sim's virtual 127.96.0.0/16, NodePorts from 30000-32767.
import { randomInt } from 'node:crypto';

/** The Service range; the low block (127.96.0.x) is for well-known addresses such as kubernetes (.1) and kube-dns (.10). */
export const SERVICE_CIDR = '127.96.0.0/16';

export function allocateClusterIP(used: Set<string>): string {
  for (let tries = 0; tries < 10_000; tries++) {
    const ip = `127.96.${randomInt(1, 256)}.${randomInt(1, 255)}`;
    if (!used.has(ip)) return ip;
  }
  for (let a = 1; a < 256; a++) {
    for (let b = 1; b < 255; b++) {
      const ip = `127.96.${a}.${b}`;
      if (!used.has(ip)) return ip;
    }
  }
  throw new Error('the Service IP range 127.96.0.0/16 is full');
}

export function allocateNodePort(used: Set<number>): number {
  for (let p = 30000 + randomInt(0, 2768), n = 0; n < 2768; n++, p = p === 32767 ? 30000 : p + 1) {
    if (!used.has(p)) return p;
  }
  throw new Error('no free NodePort in 30000-32767');
}
