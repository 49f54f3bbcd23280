// `nslookup NAME [SERVER]` in a sim container, as BusyBox's: A queries to the cluster DNS through the datapath,
// along the pod's search path; exit 1 when nothing answers.
import dns from 'node:dns';
import { resolv } from './container.mjs';

const [name, server] = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const dnsServer = server ?? resolv.server ?? '127.0.0.1';
if (!name) {
  process.stderr.write('BusyBox v1.37.0 (2025-01-17 18:12:01 UTC) multi-call binary.\n\nUsage: nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]\n');
  process.exit(1);
}
const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 1 });
resolver.setServers([dnsServer]);
const bare = name.replace(/\.$/, '');
const search = resolv.search ?? [];
const candidates =
  name.endsWith('.') || bare.split('.').length > (resolv.ndots ?? 5)
    ? [bare, ...search.map((d) => `${bare}.${d}`)]
    : [...search.map((d) => `${bare}.${d}`), bare];
process.stdout.write(`Server:\t\t${dnsServer}\nAddress:\t${dnsServer}:53\n\n`);
let lastError = 'NXDOMAIN';
for (const candidate of candidates) {
  try {
    const ips = await resolver.resolve4(`${candidate}.`);
    if (ips.length) {
      process.stdout.write(`Name:\t${candidate}\n${ips.map((ip) => `Address: ${ip}\n`).join('')}\n`);
      process.exit(0);
    }
  } catch (err) {
    if (err.code === 'ETIMEOUT' || err.code === 'ECONNREFUSED') lastError = 'SERVFAIL';
  }
}
process.stdout.write(`** server can't find ${bare}: ${lastError}\n\n`);
process.exit(1);
