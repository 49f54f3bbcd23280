// The sim's virtual address plan: pod IPs 127.244.<node>.<n>, Service IPs 127.96.x.y, and helpers to tell them apart.
import { isIPv4 } from 'node:net';

export const podCidrPrefix = '127.244.';
export const serviceCidrPrefix = '127.96.';
/** The kube-dns Service's ClusterIP (kind uses 10.96.0.10). */
export const clusterDnsIP = '127.96.0.10';
/** The `kubernetes` Service's ClusterIP (kind uses 10.96.0.1). */
export const apiServiceIP = '127.96.0.1';
export const clusterDomain = 'cluster.local';

export function isPodIP(ip: string): boolean {
  return ip.startsWith(podCidrPrefix) && isIPv4(ip);
}

export function isServiceIP(ip: string): boolean {
  return ip.startsWith(serviceCidrPrefix) && isIPv4(ip);
}

/**
 * The pod's own loopback: inside a pod, 127.0.0.1 and ::1 are the pod, not the machine. Only 127.0.0.0/16 counts,
 * so node and other virtual addresses elsewhere in 127/8 still go through the datapath.
 */
export function isLoopback(ip: string): boolean {
  return ip === '::1' || ip === 'localhost' || (ip.startsWith('127.0.') && isIPv4(ip));
}

/** The pod CIDR of node number `node` (0-based): 127.244.<node>.0/24. */
export function podCidr(node: number): string {
  return `${podCidrPrefix}${node}.0/24`;
}

export function ipToBytes(ip: string): Buffer {
  const parts = ip.split('.').map(Number);
  return Buffer.from(parts.length === 4 ? parts : [0, 0, 0, 0]);
}

export function bytesToIp(buf: Buffer, offset = 0): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** Hands out ephemeral ports like Linux (32768–60999), in turn, skipping ports the caller says are taken. */
export class EphemeralPorts {
  private next = 32768 + Math.floor(Math.random() * 28232);

  take(isFree: (port: number) => boolean = () => true): number {
    for (let i = 0; i < 28232; i++) {
      const port = this.next;
      this.next = this.next >= 60999 ? 32768 : this.next + 1;
      if (isFree(port)) return port;
    }
    throw new Error('no free ephemeral port');
  }
}
