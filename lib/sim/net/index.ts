// The sim's network layer: the datapath every connection between pods goes through, and the tables it routes by.
//
// Design
// ------
// Pods have virtual addresses (pod IPs 127.244.<node>.<n>, Service IPs 127.96.x.y) and virtual ports (80, 53 …);
// the sim binds only ephemeral ports on 127.0.0.1 and needs no privilege. The datapath (datapath.ts) owns three
// sockets on 127.0.0.1: a control server, a connection listener and a UDP relay.
//
// A pod's Node process loads preload.mjs (--import) with an env var naming the control port and a per-pod token
// (removed from process.env before the script runs). The preload keeps one control connection (JSON lines, see
// wire.d.mts) and patches net, dgram, dns and os:
//
//   listen(P)   binds 127.0.0.1:0, sends {listen P, realPort}; 'listening' fires once the datapath has it, and
//               server.address() shows P. The pod table maps (pod IP, proto, P) → real port.
//   connect     host names resolve through cluster DNS (UDP to kube-dns:53 through the datapath, resolv.conf
//               search path and ndots:5). Then the SYN handshake:
//                 pod ──{connect id, sport, dst, dport, attempt}──▶ datapath
//                     datapath: loopback → the pod's own port; ClusterIP → round-robin backend; hooks.onConnect
//                     decides allow | drop | reject | {proxy}; allow needs a registered listener (else RST).
//                 pod ◀──{accept id, port} | {refuse id} | nothing (drop)──
//               Only after accept does the app socket really connect (to the datapath listener), then {bind id,
//               its local port} pairs it with the backend connection the datapath opened meanwhile (telling the
//               backend's owner who it is from with {peer}); the datapath splices the two and reports
//               open/data/FIN/RST/close to the hooks. So the app sees 'connect' only once the connection is
//               accepted, ECONNREFUSED on refuse, and nothing on a drop: the preload retransmits the SYN after
//               synRtoMs, 2×, 4× … (each attempt is a new onConnect, as Hubble sees one drop per SYN) and gives up
//               with ETIMEDOUT after synRetries, like Linux. Cost per new connection: one control round trip and
//               one extra loopback hop each way (bench/datapath.bench.ts measures it).
//   accepted    a server holds each new connection until the datapath's {peer} message says who it is from, then
//               shows it with the virtual remote/local addresses (peers.mjs).
//   dgram       datagrams to the datapath carry an 8-byte header with the virtual destination; those it delivers
//               carry the virtual source. Replies are matched like conntrack (Service replies come from the
//               ClusterIP) and always allowed; anything without the header never reaches a pod.
//   os          hostname() is the pod name; networkInterfaces() shows lo and eth0 with the pod IP.
//
// In-process pods (nginx, CoreDNS, and the Cilium and Hubble images lib/sim/hubble registers) use the same tables through PodNetwork:
// listen(server, port), listenUdp(port, handler), connect(host, port), dial(port) for port-forward and probes, and
// expose(port, realPort) for a port the sim already serves (the API server behind the kubernetes Service).
// websocket.ts and spdy.ts carry port-forward streams (client-node's WebSocket channels, kubectl's SPDY).
//
// Where policy and flows plug in: Datapath.setHooks({ onConnect, onRefused, onOpen, onData, onEnd, onReset, onClose,
// onDatagram }). onConnect sees every SYN with source/destination endpoints, the Service and the backend, and returns
// the verdict; { proxy(client, conn, upstream) } hands the client socket to an L7 proxy. The controllers keep the
// Service table current with setServices(servicesFromObjects(services, endpoints)).
export { createDatapath, netEnvVar } from './datapath.ts';
export type {
  AddrPort,
  Connection,
  ConnectVerdict,
  Datagram,
  Datapath,
  DatapathHooks,
  DatapathOptions,
  DatapathStats,
  EndpointInfo,
  Ends,
  PodNetwork,
  PodPort,
  ProxyHandler,
  RefuseReason,
  ServiceHit,
  UdpHandler,
} from './datapath.ts';
export { ServiceTable, servicesFromObjects } from './services.ts';
export type { Backend, L4Protocol, ServiceEntry, ServicePort } from './services.ts';
export { apiServiceIP, clusterDnsIP, clusterDomain, isLoopback, isPodIP, isServiceIP, podCidr } from './addresses.ts';
