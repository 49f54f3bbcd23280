// Whether a server's bound address is reachable from other machines, and the warning that says so: the
// Observer API has no TLS and no authentication here, so whoever reaches the port reads every flow served.
import { isIP } from 'node:net';

/** 127.0.0.0/8, ::1 (also as an IPv4-mapped address) and localhost names. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (isIP(h) === 4 || mapped) return (mapped ? mapped[1]! : h).startsWith('127.');
  if (isIP(h) === 6) return /^(0{0,4}:){2,7}0{0,3}1$/.test(h) || h === '::1';
  return false;
}

const ANY_HOSTS = new Set(['', '0.0.0.0', '::', '[::]', '0:0:0:0:0:0:0:0']);

/** The warning for a server of `what` bound to host:port, or undefined when it is on loopback only. */
export function exposureWarning(what: string, host: string, port: number): string | undefined {
  if (isLoopbackHost(host)) return undefined;
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
  const reach = ANY_HOSTS.has(host) ? 'on every network interface of this machine' : 'on an address other machines can reach';
  return (
    `warning: ${what} listens on ${shown}, ${reach}: anyone who can connect reads every flow it serves ` +
    '(no TLS, no authentication); listen on 127.0.0.1 unless that is what you want'
  );
}
