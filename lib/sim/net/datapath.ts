// The sim's datapath: the only way between pods. It owns the pod table (virtual IP:port → real 127.0.0.1 port), the
// Service table, and every TCP connection and UDP datagram between pods; hooks decide and observe each one.
import net from 'node:net';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { EphemeralPorts, clusterDnsIP, clusterDomain, isLoopback } from './addresses.ts';
import { ServiceTable, type L4Protocol, type ServiceEntry } from './services.ts';
import { readLines, writeLine, udpHeader, parseUdpHeader } from './wire.mjs';
import type { DatapathToPod, PodToDatapath } from './wire.mjs';
import { PeerBook, applyNames, holdConnections, type AnnouncedPeer } from './peers.mjs';
import { decodeMessage, query, rcode, rrType } from '../dns/wire.ts';

/** Who a pod IP belongs to. */
export interface EndpointInfo {
  ip: string;
  namespace: string;
  name: string;
  uid: string;
  nodeName: string;
  labels: Record<string, string>;
  /** The node's IP, where kubelet probes come from. */
  hostIP?: string;
  /** A host-network pod shares its node's IP: it gets no endpoint identity of its own. */
  hostNetwork?: boolean;
}

export interface AddrPort {
  ip: string;
  port: number;
}

export interface ServiceHit {
  namespace: string;
  name: string;
  /** The Service port's name, when it has one. */
  portName?: string;
}

/** Who talks to whom, as the datapath sees a connection or a datagram. */
export interface Ends {
  /** The client: its pod IP and (virtual) ephemeral port; 127.0.0.1 for a pod talking to itself. */
  readonly src: AddrPort;
  /** What the client addressed: a pod IP or a Service ClusterIP. */
  readonly dst: AddrPort;
  /** Where it goes after Service translation (equals dst when no Service is involved). */
  readonly backend: AddrPort;
  readonly service?: ServiceHit;
  readonly source?: EndpointInfo;
  readonly destination?: EndpointInfo;
}

/** One TCP connection attempt (a SYN) and, once accepted, the connection it became. */
export interface Connection extends Ends {
  readonly id: number;
  readonly protocol: 'TCP';
  /** 1 for the first SYN, 2… for retransmissions after a drop. */
  readonly attempt: number;
}

/** One UDP datagram between pods. */
export interface Datagram extends Ends {
  readonly protocol: 'UDP';
  /** A reply to an earlier datagram in the other direction (always allowed, like conntrack). */
  readonly reply: boolean;
  readonly payload: Buffer;
}

/**
 * Takes over an accepted client connection instead of forwarding it (an L7 proxy). upstream() opens the
 * connection to the backend (rejects with ECONNREFUSED when nothing listens there).
 */
export type ProxyHandler = (client: net.Socket, conn: Connection, upstream: () => Promise<net.Socket>) => void;

export type ConnectVerdict = 'allow' | 'drop' | 'reject' | { proxy: ProxyHandler };

export type RefuseReason = 'no-listener' | 'no-backend' | 'rejected' | 'unroutable';

/** Where policy enforcement and flow emission plug in; every hook is optional and synchronous. */
export interface DatapathHooks {
  /** Decides each SYN: forward, drop silently (the client retransmits, then times out), reset, or proxy. */
  onConnect?(conn: Connection): ConnectVerdict;
  /** The connection was answered with a reset. */
  onRefused?(conn: Connection, reason: RefuseReason): void;
  /**
   * A SYN or datagram for a Service port that has no ready backend: `reject` (the default) answers it as refused
   * (TCP: ECONNREFUSED), `drop` lets it vanish (the client retransmits, then times out). Datagrams are dropped either way.
   */
  onNoBackend?(traffic: Connection | Datagram): 'reject' | 'drop';
  /** The connection is established end to end. */
  onOpen?(conn: Connection): void;
  onData?(conn: Connection, direction: 'request' | 'reply', bytes: number): void;
  /** One side sent FIN. */
  onEnd?(conn: Connection, side: 'client' | 'server'): void;
  /** One side reset the connection. */
  onReset?(conn: Connection, side: 'client' | 'server'): void;
  /** Both sides are closed. */
  onClose?(conn: Connection): void;
  /**
   * Decides each datagram that is not a reply; replies are only observed. `{ answer }` drops it and sends the
   * sender that payload as if from the address it wrote to (a DNS proxy refusing a name).
   */
  onDatagram?(datagram: Datagram): 'allow' | 'drop' | { answer: Buffer };
}

export interface DatapathOptions {
  /** Initial SYN retransmission timeout (Linux: 1 s). */
  synRtoMs?: number;
  /** SYN retransmissions before the client gives up with ETIMEDOUT (Linux tcp_syn_retries: 6). */
  synRetries?: number;
  hooks?: DatapathHooks;
}

export interface DatapathStats {
  connections: { accepted: number; refused: number; dropped: number; active: number };
  datagrams: { forwarded: number; dropped: number };
}

/** A registered socket of a pod, as the pod table lists it. */
export interface PodPort {
  ip: string;
  protocol: L4Protocol;
  port: number;
  /** Listens on 127.0.0.1 inside the pod only. */
  loopback: boolean;
}

export type UdpHandler = (payload: Buffer, from: AddrPort, reply: (payload: Buffer) => void) => void;

/** A pod's view of the network: what its containers use to listen, connect and be reached. */
export interface PodNetwork {
  readonly info: EndpointInfo;
  /** Environment for a container process: tells the preload how to reach the datapath as this pod. */
  processEnv(): Record<string, string>;
  /** Command-line arguments that load the preload into a Node process. */
  preloadArgs(): string[];
  /** Serves an in-process TCP server on the pod's port (port 0: any); resolves with the port once reachable. */
  listen(server: net.Server, port: number, opts?: { loopback?: boolean }): Promise<number>;
  /**
   * Makes a TCP port the sim already serves on 127.0.0.1 reachable as this pod's `port` (the API server on the
   * control-plane node's IP, say); its connections come from 127.0.0.1. Returns a function that withdraws it.
   */
  expose(port: number, realPort: number): () => void;
  /** Receives the datagrams sent to the pod's UDP port; returns a function that stops. */
  listenUdp(port: number, handler: UdpHandler): () => void;
  /** Opens a connection from this pod to host:port through the datapath (names resolved against the Service table). */
  connect(host: string, port: number): Promise<net.Socket>;
  /**
   * Opens a connection to this pod's own port as a process inside the pod would (from 127.0.0.1), or from the
   * node (`from: 'node'`, as kubelet probes do: decided and observed by the hooks like pod traffic; loopback is
   * neither). Rejects with ECONNREFUSED when nothing listens.
   */
  dial(port: number, opts?: { from?: 'loopback' | 'node' }): Promise<net.Socket>;
  /** The registered ports of this pod. */
  ports(): PodPort[];
  /** Called when a port is registered or released. */
  onPortsChanged(listener: () => void): () => void;
  /** Removes the pod from the network: its listeners, its endpoint and its process tokens. */
  close(): void;
}

export interface Datapath {
  readonly services: ServiceTable;
  /** Replaces the Service table (the controllers call this whenever Services or Endpoints change). */
  setServices(entries: ServiceEntry[]): void;
  setHooks(hooks: DatapathHooks): void;
  /** Adds a pod to the network and returns its view of it. */
  attachPod(info: EndpointInfo): PodNetwork;
  /** The pod (not host-network) owning an IP. */
  endpoint(ip: string): EndpointInfo | undefined;
  endpoints(): EndpointInfo[];
  /** Every registered port, or those of one IP. */
  ports(ip?: string): PodPort[];
  /** Called after the Service table or the set of pods changed (what cluster DNS serves). */
  onChange(listener: () => void): () => void;
  stats(): DatapathStats;
  close(): Promise<void>;
}

const preloadUrl = new URL('./preload.mjs', import.meta.url).href;
export const netEnvVar = 'HUBBLE_LAB_SIM_NET';

interface PodState {
  info: EndpointInfo;
  token: string;
  ephemeral: EphemeralPorts;
  portListeners: Set<() => void>;
  closed: boolean;
}

interface Listener {
  key: string;
  ip: string;
  proto: L4Protocol;
  port: number;
  loopback: boolean;
  pod: PodState;
  /** The real 127.0.0.1 port (TCP servers and UDP sockets of processes). */
  realPort?: number;
  /** The process that owns it, told about peers of new connections. */
  control?: ControlConn;
  /** In-process TCP servers learn their peers here. */
  peers?: PeerBook;
  udp?: UdpHandler;
}

interface ControlConn {
  socket: net.Socket;
  pod: PodState;
  listeners: Set<string>;
  pending: Map<number, PendingConnection>;
}

interface PendingConnection {
  conn: Connection;
  /** The server-side socket (connecting while the client does); undefined when that failed; absent when proxied. */
  server?: Promise<net.Socket | undefined>;
  proxy?: ProxyHandler;
  /** False for a pod's connections to itself over loopback, which Hubble does not see. */
  observed: boolean;
  timer: NodeJS.Timeout;
  /** Removes it from whatever table still holds it. */
  forget?: () => void;
}

type ConnectOutcome = { kind: 'refused' } | { kind: 'dropped' } | { kind: 'accepted'; pending: PendingConnection; local: AddrPort };

/** How long an accepted connection waits for its client to show up at the datapath listener. */
const ATTACH_TIMEOUT_MS = 10_000;
const CONNTRACK_MAX = 16_384;

/** A connection attempt from the client's address and port to what it addressed. */
function synKey(src: AddrPort, dst: AddrPort): string {
  return `${src.ip}:${src.port}>${dst.ip}:${dst.port}`;
}

function listenerKey(ip: string, proto: L4Protocol, port: number): string {
  return `${ip}|${proto}|${port}`;
}

function errnoError(code: 'ECONNREFUSED' | 'ETIMEDOUT', address: string, port: number): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException & { address?: string; port?: number } = new Error(`connect ${code} ${address}:${port}`);
  err.code = code;
  err.errno = -(code === 'ECONNREFUSED' ? 111 : 110);
  err.syscall = 'connect';
  err.address = address;
  err.port = port;
  return err;
}

/** Starts the datapath's sockets on 127.0.0.1 (a control server, a connection listener, a UDP relay). */
export async function createDatapath(opts: DatapathOptions = {}): Promise<Datapath> {
  const dp = new DefaultDatapath(opts);
  await dp.start();
  return dp;
}

class DefaultDatapath implements Datapath {
  readonly services = new ServiceTable();
  private hooks: DatapathHooks;
  private readonly synRtoMs: number;
  private readonly synRetries: number;
  private readonly control = net.createServer();
  private readonly listener = net.createServer({ allowHalfOpen: true, noDelay: true });
  private readonly udp = dgram.createSocket('udp4');
  private readonly controls = new Set<ControlConn>();
  private readonly pods = new Map<string, PodState>();
  private readonly byToken = new Map<string, PodState>();
  private readonly endpointsByIp = new Map<string, EndpointInfo>();
  private readonly table = new Map<string, Listener>();
  private readonly udpByRealPort = new Map<number, Listener>();
  /** Accepted connections waiting for their client socket, keyed by the client's real port at the listener. */
  private readonly awaitingSocket = new Map<number, PendingConnection>();
  /** Client sockets that arrived before their bind message. */
  private readonly awaitingBind = new Map<number, net.Socket>();
  private readonly open = new Set<net.Socket>();
  /** UDP reverse translation: reply direction "backend>client" → the address the client originally sent to. */
  private readonly conntrack = new Map<string, AddrPort | undefined>();
  /** The backend each dropped SYN to a Service went to: its retransmissions go there too, as Cilium's service conntrack sends them. */
  private readonly synBackends = new Map<string, AddrPort>();
  private readonly changeListeners = new Set<() => void>();
  private nextConnId = 1;
  private counters: DatapathStats = { connections: { accepted: 0, refused: 0, dropped: 0, active: 0 }, datagrams: { forwarded: 0, dropped: 0 } };
  private controlPort = 0;
  private listenerPort = 0;
  private udpPort = 0;

  constructor(opts: DatapathOptions) {
    this.hooks = opts.hooks ?? {};
    this.synRtoMs = opts.synRtoMs ?? 1000;
    this.synRetries = opts.synRetries ?? 6;
  }

  async start(): Promise<void> {
    this.control.on('connection', (socket) => this.acceptControl(socket));
    this.listener.on('connection', (socket) => this.acceptClient(socket));
    this.udp.on('message', (msg, rinfo) => this.receiveDatagram(msg, rinfo));
    this.udp.on('error', () => {});
    this.control.listen(0, '127.0.0.1');
    this.listener.listen(0, '127.0.0.1');
    this.udp.bind(0, '127.0.0.1');
    await Promise.all([once(this.control, 'listening'), once(this.listener, 'listening'), once(this.udp, 'listening')]);
    this.controlPort = (this.control.address() as net.AddressInfo).port;
    this.listenerPort = (this.listener.address() as net.AddressInfo).port;
    this.udpPort = this.udp.address().port;
  }

  setServices(entries: ServiceEntry[]): void {
    this.services.set(entries);
    this.changed();
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(): void {
    for (const fn of this.changeListeners) fn();
  }

  setHooks(hooks: DatapathHooks): void {
    this.hooks = hooks;
  }

  endpoint(ip: string): EndpointInfo | undefined {
    return this.endpointsByIp.get(ip);
  }

  endpoints(): EndpointInfo[] {
    return [...this.endpointsByIp.values()];
  }

  ports(ip?: string): PodPort[] {
    const out: PodPort[] = [];
    for (const l of this.table.values()) {
      if (ip === undefined || l.ip === ip) out.push({ ip: l.ip, protocol: l.proto, port: l.port, loopback: l.loopback });
    }
    return out;
  }

  stats(): DatapathStats {
    return { connections: { ...this.counters.connections }, datagrams: { ...this.counters.datagrams } };
  }

  attachPod(info: EndpointInfo): PodNetwork {
    const pod: PodState = { info, token: randomBytes(18).toString('base64url'), ephemeral: new EphemeralPorts(), portListeners: new Set(), closed: false };
    this.pods.set(info.uid, pod);
    this.byToken.set(pod.token, pod);
    if (!info.hostNetwork) this.endpointsByIp.set(info.ip, info);
    this.changed();
    return this.podNetwork(pod);
  }

  private closing?: Promise<void>;

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const c of this.controls) c.socket.destroy();
    for (const s of this.open) s.destroy();
    for (const s of this.awaitingBind.values()) s.destroy();
    for (const p of this.awaitingSocket.values()) this.abandon(p);
    await Promise.all([
      new Promise<void>((r) => this.control.close(() => r())),
      new Promise<void>((r) => this.listener.close(() => r())),
      new Promise<void>((r) => this.udp.close(() => r())),
    ]);
  }

  // ——— pods ———

  private podNetwork(pod: PodState): PodNetwork {
    const dp = this;
    return {
      info: pod.info,
      processEnv: () => ({ [netEnvVar]: this.processConfig(pod) }),
      preloadArgs: () => ['--import', preloadUrl],
      listen: (server, port, o) => this.listenInProcess(pod, server, port, o?.loopback ?? false),
      expose: (port, realPort) => {
        const l: Listener = { key: listenerKey(pod.info.ip, 'TCP', port), ip: pod.info.ip, proto: 'TCP', port, loopback: false, pod, realPort };
        if (this.table.has(l.key)) throw Object.assign(new Error(`listen EADDRINUSE: address already in use ${pod.info.ip}:${port}`), { code: 'EADDRINUSE' });
        this.register(l);
        return () => this.unregister(l);
      },
      listenUdp: (port, handler) => {
        const l: Listener = { key: listenerKey(pod.info.ip, 'UDP', port), ip: pod.info.ip, proto: 'UDP', port, loopback: false, pod, udp: handler };
        if (this.table.has(l.key)) throw Object.assign(new Error(`listen EADDRINUSE: address already in use ${pod.info.ip}:${port}`), { code: 'EADDRINUSE' });
        this.register(l);
        return () => this.unregister(l);
      },
      connect: (host, port) => this.connectInProcess(pod, host, port),
      dial: (port, o) => this.dial(pod, port, o?.from ?? 'loopback'),
      ports: () => this.ports(pod.info.ip).filter((p) => this.table.get(listenerKey(p.ip, p.protocol, p.port))?.pod === pod),
      onPortsChanged(listener) {
        pod.portListeners.add(listener);
        return () => pod.portListeners.delete(listener);
      },
      close() {
        dp.detach(pod);
      },
    };
  }

  private processConfig(pod: PodState): string {
    const ns = pod.info.namespace;
    const config = {
      control: this.controlPort,
      udp: this.udpPort,
      token: pod.token,
      ip: pod.info.ip,
      hostname: pod.info.name,
      dns: clusterDnsIP,
      search: [`${ns}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain],
      ndots: 5,
      synRtoMs: this.synRtoMs,
      synRetries: this.synRetries,
    };
    return Buffer.from(JSON.stringify(config)).toString('base64url');
  }

  private detach(pod: PodState): void {
    if (pod.closed) return;
    pod.closed = true;
    this.pods.delete(pod.info.uid);
    this.byToken.delete(pod.token);
    if (this.endpointsByIp.get(pod.info.ip) === pod.info) this.endpointsByIp.delete(pod.info.ip);
    for (const l of [...this.table.values()]) if (l.pod === pod) this.unregister(l);
    for (const c of this.controls) if (c.pod === pod) c.socket.destroy();
    this.changed();
  }

  private register(l: Listener): void {
    this.table.set(l.key, l);
    if (l.proto === 'UDP' && l.realPort !== undefined) this.udpByRealPort.set(l.realPort, l);
    for (const fn of l.pod.portListeners) fn();
  }

  private unregister(l: Listener): void {
    if (this.table.get(l.key) !== l) return;
    this.table.delete(l.key);
    if (l.realPort !== undefined && this.udpByRealPort.get(l.realPort) === l) this.udpByRealPort.delete(l.realPort);
    l.control?.listeners.delete(l.key);
    for (const fn of l.pod.portListeners) fn();
  }

  private async listenInProcess(pod: PodState, server: net.Server, port: number, loopback: boolean): Promise<number> {
    const peers = new PeerBook();
    let realPort = 0;
    holdConnections(server, () => realPort, peers);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    realPort = (server.address() as net.AddressInfo).port;
    const vport = port === 0 ? realPort : port;
    const key = listenerKey(pod.info.ip, 'TCP', vport);
    if (this.table.has(key) || pod.closed) {
      server.close();
      throw Object.assign(new Error(`listen EADDRINUSE: address already in use ${pod.info.ip}:${vport}`), { code: 'EADDRINUSE' });
    }
    const l: Listener = { key, ip: pod.info.ip, proto: 'TCP', port: vport, loopback, pod, realPort, peers };
    this.register(l);
    server.once('close', () => this.unregister(l));
    return vport;
  }

  // ——— control channel (one per pod process) ———

  private acceptControl(socket: net.Socket): void {
    socket.setNoDelay(true);
    let conn: ControlConn | undefined;
    socket.on('error', () => {});
    socket.on('close', () => {
      if (!conn) return;
      this.controls.delete(conn);
      for (const key of conn.listeners) {
        const l = this.table.get(key);
        if (l) this.unregister(l);
      }
      for (const p of conn.pending.values()) this.abandon(p);
    });
    readLines(socket, (msg: PodToDatapath) => {
      if (!conn) {
        const pod = msg.t === 'hello' ? this.byToken.get(msg.token) : undefined;
        if (!pod) {
          socket.destroy();
          return;
        }
        conn = { socket, pod, listeners: new Set(), pending: new Map() };
        this.controls.add(conn);
        return;
      }
      this.handleControl(conn, msg);
    });
  }

  private reply(conn: ControlConn, msg: DatapathToPod): void {
    writeLine(conn.socket, msg);
  }

  private handleControl(conn: ControlConn, msg: PodToDatapath): void {
    switch (msg.t) {
      case 'listen': {
        const proto: L4Protocol = msg.proto === 'udp' ? 'UDP' : 'TCP';
        const vport =
          msg.port !== 0 ? msg.port : proto === 'UDP' ? conn.pod.ephemeral.take((p) => !this.table.has(listenerKey(conn.pod.info.ip, proto, p))) : msg.realPort;
        const key = listenerKey(conn.pod.info.ip, proto, vport);
        if (this.table.has(key) || conn.pod.closed) {
          this.reply(conn, { t: 'error', id: msg.id, code: 'EADDRINUSE', message: `address already in use ${conn.pod.info.ip}:${vport}` });
          return;
        }
        const l: Listener = {
          key,
          ip: conn.pod.info.ip,
          proto,
          port: vport,
          loopback: msg.loopback,
          pod: conn.pod,
          realPort: msg.realPort,
          control: conn,
          peers: undefined,
        };
        conn.listeners.add(key);
        this.register(l);
        this.reply(conn, { t: 'listening', id: msg.id, port: vport });
        return;
      }
      case 'unlisten': {
        const l = this.table.get(listenerKey(conn.pod.info.ip, msg.proto === 'udp' ? 'UDP' : 'TCP', msg.port));
        if (l && l.control === conn) this.unregister(l);
        return;
      }
      case 'connect': {
        const sport = msg.sport > 0 && msg.sport < 65536 ? msg.sport : conn.pod.ephemeral.take();
        void this.openConnection(conn.pod, { ip: msg.dst, port: msg.dport }, sport, msg.attempt).then((outcome) => {
          if (conn.socket.destroyed) {
            if (outcome.kind === 'accepted') this.abandon(outcome.pending);
            return;
          }
          if (outcome.kind === 'refused') this.reply(conn, { t: 'refuse', id: msg.id });
          else if (outcome.kind === 'accepted') {
            conn.pending.set(msg.id, outcome.pending);
            outcome.pending.forget = () => conn.pending.delete(msg.id);
            this.reply(conn, { t: 'accept', id: msg.id, port: this.listenerPort, src: outcome.local.ip, sport: outcome.local.port });
          }
          // dropped: no answer; the process retransmits after its timeout, like a SYN that vanished
        });
        return;
      }
      case 'bind': {
        const pending = conn.pending.get(msg.id);
        if (!pending) return;
        conn.pending.delete(msg.id);
        this.bindClient(msg.port, pending);
        return;
      }
      case 'cancel': {
        const pending = conn.pending.get(msg.id);
        if (pending) {
          conn.pending.delete(msg.id);
          this.abandon(pending);
        }
        return;
      }
      default:
        return;
    }
  }

  // ——— TCP ———

  /** One SYN from pod to dst: translate, decide, and reach the listener. */
  private async openConnection(pod: PodState, dst: AddrPort, sport: number, attempt: number): Promise<ConnectOutcome> {
    if (isLoopback(dst.ip)) return this.openLoopback(pod, dst, sport);
    let backend: AddrPort = dst;
    let service: ServiceHit | undefined;
    const refuse = (reason: RefuseReason, c: Connection): ConnectOutcome => {
      this.counters.connections.refused++;
      this.hooks.onRefused?.(c, reason);
      return { kind: 'refused' };
    };
    const src: AddrPort = { ip: pod.info.ip, port: sport };
    const base = { id: this.nextConnId++, protocol: 'TCP' as const, src, dst, attempt, source: this.endpointsByIp.get(pod.info.ip) ?? pod.info };
    let earlier: AddrPort | undefined;
    if (attempt > 1 && this.synBackends.size > 0) {
      const key = synKey(src, dst);
      earlier = this.synBackends.get(key);
      this.synBackends.delete(key);
    }
    if (this.services.isClusterIP(dst.ip)) {
      const hit = this.services.pick(dst.ip, 'TCP', dst.port, earlier);
      service = hit ? { namespace: hit.service.namespace, name: hit.service.name, ...(hit.port.name ? { portName: hit.port.name } : {}) } : undefined;
      if (!hit?.backend) {
        const unserved: Connection = { ...base, backend: dst, ...(service ? { service } : {}) };
        if (hit && this.hooks.onNoBackend?.(unserved) === 'drop') {
          this.counters.connections.dropped++;
          return { kind: 'dropped' };
        }
        return refuse('no-backend', unserved);
      }
      backend = hit.backend;
    }
    const destination = this.endpointsByIp.get(backend.ip);
    const conn: Connection = { ...base, backend, ...(service ? { service } : {}), ...(destination ? { destination } : {}) };
    const verdict = this.hooks.onConnect?.(conn) ?? 'allow';
    if (verdict === 'drop') {
      this.counters.connections.dropped++;
      if (service) {
        this.synBackends.set(synKey(src, dst), backend);
        if (this.synBackends.size > CONNTRACK_MAX) this.synBackends.delete(this.synBackends.keys().next().value!);
      }
      return { kind: 'dropped' };
    }
    if (verdict === 'reject') return refuse('rejected', conn);
    if (typeof verdict === 'object') {
      this.counters.connections.accepted++;
      return { kind: 'accepted', pending: this.pending(conn, undefined, verdict.proxy), local: src };
    }
    const listener = this.table.get(listenerKey(backend.ip, 'TCP', backend.port));
    if (!listener) return refuse(this.endpointsByIp.has(backend.ip) || this.isKnownIp(backend.ip) ? 'no-listener' : 'unroutable', conn);
    if (listener.loopback && listener.pod !== pod) return refuse('no-listener', conn);
    // A registered listener is a listening socket: the connection is accepted now, and the hop to it is opened
    // while the client connects to the datapath, keeping it off the connect latency.
    this.counters.connections.accepted++;
    return {
      kind: 'accepted',
      pending: this.pending(
        conn,
        this.reach(listener, conn.src, backend).catch(() => undefined),
      ),
      local: src,
    };
  }

  private isKnownIp(ip: string): boolean {
    for (const l of this.table.values()) if (l.ip === ip) return true;
    return false;
  }

  /** Inside a pod, 127.0.0.1 reaches the pod's own sockets, whatever address they listen on; not observed. */
  private async openLoopback(pod: PodState, dst: AddrPort, sport: number): Promise<ConnectOutcome> {
    const local: AddrPort = { ip: '127.0.0.1', port: sport };
    const conn: Connection = { id: this.nextConnId++, protocol: 'TCP', src: local, dst, backend: dst, attempt: 1 };
    const listener = this.table.get(listenerKey(pod.info.ip, 'TCP', dst.port));
    if (!listener || listener.pod !== pod) return { kind: 'refused' };
    const server = this.reach(listener, local, { ip: '127.0.0.1', port: dst.port }).catch(() => undefined);
    return { kind: 'accepted', pending: this.pending(conn, server, undefined, false), local };
  }

  /** Connects to a listener's real port and tells its owner who the connection is from. */
  private async reach(listener: Listener, from: AddrPort, to: AddrPort): Promise<net.Socket> {
    if (listener.realPort === undefined) throw errnoError('ECONNREFUSED', to.ip, to.port);
    const server = net.connect({ port: listener.realPort, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
    server.on('error', () => {});
    await once(server, 'connect');
    const peer: AnnouncedPeer = { src: from.ip, sport: from.port, dst: to.ip, dport: to.port };
    const rport = server.localPort!;
    if (listener.control) writeLine(listener.control.socket, { t: 'peer', lport: listener.realPort, rport, ...peer });
    else listener.peers?.set(listener.realPort, rport, peer);
    return server;
  }

  private pending(conn: Connection, server?: Promise<net.Socket | undefined>, proxy?: ProxyHandler, observed = true): PendingConnection {
    const p: PendingConnection = {
      conn,
      ...(server ? { server } : {}),
      ...(proxy ? { proxy } : {}),
      observed,
      timer: setTimeout(() => this.abandon(p), ATTACH_TIMEOUT_MS),
    };
    return p;
  }

  private abandon(p: PendingConnection): void {
    clearTimeout(p.timer);
    p.forget?.();
    void p.server?.then((s) => s?.destroy());
  }

  private acceptClient(socket: net.Socket): void {
    socket.on('error', () => {});
    const port = socket.remotePort;
    if (port === undefined) {
      socket.destroy();
      return;
    }
    const pending = this.awaitingSocket.get(port);
    if (pending) {
      this.awaitingSocket.delete(port);
      this.attach(socket, pending);
      return;
    }
    this.awaitingBind.set(port, socket);
    const timer = setTimeout(() => {
      if (this.awaitingBind.get(port) === socket) this.awaitingBind.delete(port);
      socket.destroy();
    }, ATTACH_TIMEOUT_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      if (this.awaitingBind.get(port) === socket) this.awaitingBind.delete(port);
    });
    (socket as { _simBindTimer?: NodeJS.Timeout })._simBindTimer = timer;
  }

  /** The client socket that will carry `pending` connects (or connected) from 127.0.0.1:port. */
  private bindClient(port: number, pending: PendingConnection): void {
    const socket = this.awaitingBind.get(port);
    if (socket) {
      this.awaitingBind.delete(port);
      clearTimeout((socket as { _simBindTimer?: NodeJS.Timeout })._simBindTimer);
      this.attach(socket, pending);
      return;
    }
    this.awaitingSocket.set(port, pending);
    pending.forget = () => {
      if (this.awaitingSocket.get(port) === pending) this.awaitingSocket.delete(port);
    };
  }

  private attach(client: net.Socket, p: PendingConnection): void {
    clearTimeout(p.timer);
    const { conn } = p;
    if (p.proxy) {
      p.proxy(client, conn, () => this.upstream(conn));
      return;
    }
    const hooks = p.observed ? this.hooks : {};
    void p.server!.then((server) => {
      if (server && !server.destroyed && !client.destroyed) {
        this.splice(client, server, conn, hooks);
        return;
      }
      // The listener went away between the SYN and now: the client sees a reset.
      server?.destroy();
      client.resetAndDestroy();
      hooks.onReset?.(conn, 'server');
    });
  }

  /** The proxy's own connection to the backend. */
  private async upstream(conn: Connection): Promise<net.Socket> {
    const listener = this.table.get(listenerKey(conn.backend.ip, 'TCP', conn.backend.port));
    if (!listener) throw errnoError('ECONNREFUSED', conn.backend.ip, conn.backend.port);
    return this.reach(listener, conn.src, conn.backend);
  }

  /** Forwards both ways, passing FIN and RST through and reporting each to the hooks. */
  private splice(client: net.Socket, server: net.Socket, conn: Connection, hooks: DatapathHooks): void {
    this.counters.connections.active++;
    this.open.add(client);
    this.open.add(server);
    client.setNoDelay(true);
    hooks.onOpen?.(conn);
    if (hooks.onData) {
      const onData = hooks.onData;
      client.on('data', (chunk: Buffer) => onData(conn, 'request', chunk.length));
      server.on('data', (chunk: Buffer) => onData(conn, 'reply', chunk.length));
    }
    client.pipe(server);
    server.pipe(client);
    let closed = 0;
    let reset = false;
    const side = (s: net.Socket): 'client' | 'server' => (s === client ? 'client' : 'server');
    for (const [from, to] of [
      [client, server],
      [server, client],
    ] as const) {
      from.on('end', () => hooks.onEnd?.(conn, side(from)));
      from.on('error', () => {
        if (!reset) {
          reset = true;
          hooks.onReset?.(conn, side(from));
        }
        if (!to.destroyed) to.resetAndDestroy();
      });
      from.on('close', () => {
        this.open.delete(from);
        // A side that closed without FIN or error (destroyed locally) must not leave the other half-open forever.
        if (!to.destroyed && !from.readableEnded && !reset) to.destroy();
        if (++closed === 2) {
          this.counters.connections.active--;
          hooks.onClose?.(conn);
        }
      });
    }
  }

  /** In-process client (an image handler) connecting from its pod through the datapath. */
  private async connectInProcess(pod: PodState, host: string, port: number): Promise<net.Socket> {
    const ip = net.isIPv4(host) || isLoopback(host) ? (host === 'localhost' ? '127.0.0.1' : host) : await this.resolveName(pod, host);
    if (!ip) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname: host });
    }
    const sport = pod.ephemeral.take();
    for (let attempt = 1; attempt <= this.synRetries + 1; attempt++) {
      const outcome = await this.openConnection(pod, { ip, port }, sport, attempt);
      if (outcome.kind === 'refused') throw errnoError('ECONNREFUSED', ip, port);
      if (outcome.kind === 'accepted') {
        const client = net.connect({ port: this.listenerPort, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
        client.once('connect', () => {
          this.bindClient(client.localPort!, outcome.pending);
          applyNames(client, outcome.local, { ip, port });
        });
        await once(client, 'connect');
        return client;
      }
      await new Promise((r) => setTimeout(r, this.synRtoMs * 2 ** (attempt - 1)));
    }
    throw errnoError('ETIMEDOUT', ip, port);
  }

  /** Resolves a name as the pod's resolver would: search path, then cluster DNS queries through the datapath. */
  private async resolveName(pod: PodState, name: string): Promise<string | undefined> {
    const bare = name.replace(/\.$/, '').toLowerCase();
    const searched = [`${pod.info.namespace}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain].map((d) => `${bare}.${d}`);
    const candidates = name.endsWith('.') ? [bare] : bare.split('.').length > 5 ? [bare, ...searched] : [...searched, bare];
    for (const candidate of candidates) {
      const reply = await this.queryDns(pod, candidate);
      const a = reply?.rcode === rcode.NOERROR ? reply.answers.find((r) => r.type === rrType.A) : undefined;
      if (a) return a.data;
    }
    return undefined;
  }

  /** One A query from the pod to the kube-dns ClusterIP, on a fresh ephemeral UDP port; undefined on timeout. */
  private queryDns(pod: PodState, name: string): Promise<ReturnType<typeof decodeMessage> | undefined> {
    const port = pod.ephemeral.take((p) => !this.table.has(listenerKey(pod.info.ip, 'UDP', p)));
    const id = Math.floor(Math.random() * 0x10000);
    return new Promise((resolve) => {
      const l: Listener = {
        key: listenerKey(pod.info.ip, 'UDP', port),
        ip: pod.info.ip,
        proto: 'UDP',
        port,
        loopback: false,
        pod,
        udp: (payload) => {
          let reply;
          try {
            reply = decodeMessage(payload);
          } catch {
            return;
          }
          if (reply.id !== id) return;
          finish(reply);
        },
      };
      const timer = setTimeout(() => finish(undefined), 2000);
      const finish = (reply: ReturnType<typeof decodeMessage> | undefined) => {
        clearTimeout(timer);
        this.unregister(l);
        resolve(reply);
      };
      this.register(l);
      this.sendDatagram(pod, { ip: pod.info.ip, port }, { ip: clusterDnsIP, port: 53 }, query(id, name, rrType.A));
    });
  }

  private async dial(pod: PodState, port: number, from: 'loopback' | 'node'): Promise<net.Socket> {
    const listener = this.table.get(listenerKey(pod.info.ip, 'TCP', port));
    const target = from === 'loopback' ? '127.0.0.1' : pod.info.ip;
    if (!listener || listener.pod !== pod || (from === 'node' && listener.loopback)) throw errnoError('ECONNREFUSED', target, port);
    const src: AddrPort = { ip: from === 'loopback' ? '127.0.0.1' : (pod.info.hostIP ?? pod.info.ip), port: pod.ephemeral.take() };
    const dst: AddrPort = { ip: target, port };
    if (from === 'loopback' || pod.info.hostNetwork) return this.reach(listener, src, dst);
    // From the node (kubelet probes): a connection the hooks decide and observe like any other, as Cilium sees the
    // host's packets to a local endpoint.
    const destination = this.endpointsByIp.get(pod.info.ip);
    const conn: Connection = { id: this.nextConnId++, protocol: 'TCP', src, dst, backend: dst, attempt: 1, ...(destination ? { destination } : {}) };
    const verdict = this.hooks.onConnect?.(conn) ?? 'allow';
    if (verdict === 'drop' || verdict === 'reject') throw errnoError(verdict === 'drop' ? 'ETIMEDOUT' : 'ECONNREFUSED', target, port);
    // The host's probes reach the endpoint itself, not an L7 proxy in front of it.
    this.counters.connections.accepted++;
    const pending = this.pending(
      conn,
      this.reach(listener, src, dst).catch(() => undefined),
    );
    const client = net.connect({ port: this.listenerPort, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
    client.once('connect', () => {
      this.bindClient(client.localPort!, pending);
      applyNames(client, src, dst);
    });
    await once(client, 'connect');
    return client;
  }

  // ——— UDP ———

  private receiveDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const sender = rinfo.address === '127.0.0.1' ? this.udpByRealPort.get(rinfo.port) : undefined;
    const parsed = sender ? parseUdpHeader(msg) : undefined;
    if (!sender || !parsed) {
      this.counters.datagrams.dropped++;
      return;
    }
    this.sendDatagram(sender.pod, { ip: sender.pod.info.ip, port: sender.port }, { ip: parsed.ip, port: parsed.port }, parsed.payload);
  }

  private sendDatagram(pod: PodState, src: AddrPort, dst: AddrPort, payload: Buffer): void {
    if (isLoopback(dst.ip)) {
      this.deliverDatagram(this.table.get(listenerKey(pod.info.ip, 'UDP', dst.port)), pod, { ip: '127.0.0.1', port: src.port }, payload);
      return;
    }
    const replyKey = `${src.ip}:${src.port}>${dst.ip}:${dst.port}`;
    if (this.conntrack.has(replyKey)) {
      const original = this.conntrack.get(replyKey);
      const from = original ?? src;
      const d: Datagram = { protocol: 'UDP', src: from, dst, backend: dst, reply: true, payload, ...this.endpointsOf(src.ip, dst.ip) };
      this.hooks.onDatagram?.(d);
      this.deliverDatagram(this.table.get(listenerKey(dst.ip, 'UDP', dst.port)), pod, from, payload);
      return;
    }
    let backend = dst;
    let service: ServiceHit | undefined;
    if (this.services.isClusterIP(dst.ip)) {
      const hit = this.services.pick(dst.ip, 'UDP', dst.port);
      if (!hit?.backend) {
        if (hit) {
          const service: ServiceHit = { namespace: hit.service.namespace, name: hit.service.name, ...(hit.port.name ? { portName: hit.port.name } : {}) };
          this.hooks.onNoBackend?.({ protocol: 'UDP', src, dst, backend: dst, reply: false, payload, service, ...this.endpointsOf(src.ip, dst.ip) });
        }
        this.counters.datagrams.dropped++;
        return;
      }
      backend = hit.backend;
      service = { namespace: hit.service.namespace, name: hit.service.name, ...(hit.port.name ? { portName: hit.port.name } : {}) };
    }
    const d: Datagram = { protocol: 'UDP', src, dst, backend, reply: false, payload, ...(service ? { service } : {}), ...this.endpointsOf(src.ip, backend.ip) };
    const verdict = this.hooks.onDatagram?.(d) ?? 'allow';
    if (verdict === 'drop') {
      this.counters.datagrams.dropped++;
      return;
    }
    if (typeof verdict === 'object') {
      this.deliverDatagram(this.table.get(listenerKey(src.ip, 'UDP', src.port)), pod, dst, verdict.answer);
      return;
    }
    this.track(`${backend.ip}:${backend.port}>${src.ip}:${src.port}`, service ? dst : undefined);
    this.deliverDatagram(this.table.get(listenerKey(backend.ip, 'UDP', backend.port)), pod, src, payload);
  }

  private endpointsOf(srcIp: string, dstIp: string): { source?: EndpointInfo; destination?: EndpointInfo } {
    const source = this.endpointsByIp.get(srcIp);
    const destination = this.endpointsByIp.get(dstIp);
    return { ...(source ? { source } : {}), ...(destination ? { destination } : {}) };
  }

  private track(key: string, original: AddrPort | undefined): void {
    this.conntrack.delete(key);
    this.conntrack.set(key, original);
    if (this.conntrack.size > CONNTRACK_MAX) this.conntrack.delete(this.conntrack.keys().next().value!);
  }

  private deliverDatagram(listener: Listener | undefined, fromPod: PodState, from: AddrPort, payload: Buffer): void {
    if (!listener || (listener.loopback && listener.pod !== fromPod)) {
      this.counters.datagrams.dropped++;
      return;
    }
    this.counters.datagrams.forwarded++;
    if (listener.udp) {
      const to: AddrPort = { ip: from.ip === '127.0.0.1' ? '127.0.0.1' : listener.ip, port: listener.port };
      listener.udp(payload, from, (reply) => this.sendDatagram(listener.pod, to, from, reply));
      return;
    }
    if (listener.realPort !== undefined) this.udp.send([udpHeader(from.ip, from.port), payload], listener.realPort, '127.0.0.1');
  }
}
