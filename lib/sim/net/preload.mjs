// Loaded (--import) into every Node process a pod runs: makes the process see the cluster network as a pod does.
//
// It patches Node's socket APIs so that, to the script, the pod's virtual addresses are real:
// - listening on port P (TCP or UDP, any host) binds 127.0.0.1:0 and registers (pod IP, P) with the datapath;
//   'listening' is emitted once the port is reachable, and server.address() shows P;
// - connecting anywhere except a Unix socket goes through the datapath: the SYN is a 'connect' control request,
//   the socket really connects (to the datapath listener) only once the datapath accepted, so the script sees
//   'connect' exactly when a real connection would be established, ECONNREFUSED on a reset, and nothing at all on
//   a drop (retransmitting like Linux, then ETIMEDOUT);
// - datagrams carry their virtual address in a small header the datapath reads and writes;
// - host names resolve through the cluster DNS (UDP port 53 of the kube-dns ClusterIP, through the datapath) with
//   the pod's search path, like a pod's resolv.conf;
// - os.hostname() and os.networkInterfaces() show the pod.
// Plain ESM so it loads fast and without a TypeScript loader.
import net from 'node:net';
import dgram from 'node:dgram';
import dns from 'node:dns';
import os from 'node:os';
import { syncBuiltinESMExports } from 'node:module';
import { ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { readLines, writeLine, udpHeader, parseUdpHeader, UDP_HEADER_BYTES } from './wire.mjs';
import { PeerBook, applyNames, holdConnections } from './peers.mjs';
import { encodeQuery, decodeMessage, TYPE_A, RCODE_NOERROR, RCODE_NXDOMAIN } from './dns-packet.mjs';

const ENV = 'HUBBLE_LAB_SIM_NET';
const raw = process.env[ENV];
if (raw) {
  delete process.env[ENV];
  install(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
  // Processes the script starts are in the pod too (a forked node loads this preload again): hand them the setting.
  const origSpawn = ChildProcess.prototype.spawn;
  ChildProcess.prototype.spawn = function spawnInPod(options) {
    if (Array.isArray(options?.envPairs) && !options.envPairs.some((p) => p.startsWith(`${ENV}=`))) options.envPairs.push(`${ENV}=${raw}`);
    return origSpawn.call(this, options);
  };
}

function errnoError(code, syscall, address, port) {
  const errno = -(os.constants.errno[code] ?? 1);
  const where = port === undefined ? address : `${address}:${port}`;
  const err = new Error(`${syscall} ${code} ${where}`);
  Object.assign(err, { errno, code, syscall, address, ...(port === undefined ? {} : { port }) });
  return err;
}

function notFound(hostname, code = 'ENOTFOUND') {
  const err = new Error(`getaddrinfo ${code} ${hostname}`);
  Object.assign(err, { errno: code === 'ENOTFOUND' ? -3008 : -3001, code, syscall: 'getaddrinfo', hostname });
  return err;
}

function isLoopbackHost(host) {
  const h = String(host).toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h === '::1' || (h.startsWith('127.0.') && net.isIPv4(h));
}

function install(cfg) {
  const origConnect = net.Socket.prototype.connect;
  const origListen = net.Server.prototype.listen;
  const origServerAddress = net.Server.prototype.address;
  const origServerClose = net.Server.prototype.close;
  const origBind = dgram.Socket.prototype.bind;
  const origSend = dgram.Socket.prototype.send;
  const origUdpAddress = dgram.Socket.prototype.address;
  const origUdpClose = dgram.Socket.prototype.close;
  const origLookup = dns.lookup;

  // ——— control channel to the datapath ———

  const peers = new PeerBook();
  const waiting = new Map();
  let nextId = 1;
  const control = new net.Socket();
  origConnect.call(control, cfg.control, '127.0.0.1');
  control.setNoDelay(true);
  control.unref();
  control.on('error', () => {});
  // The datapath is gone (the sim stopped or crashed): a pod's processes do not outlive it.
  control.on('close', () => process.kill(process.pid, 'SIGKILL'));
  writeLine(control, { t: 'hello', token: cfg.token });
  readLines(control, (msg) => {
    if (msg.t === 'peer') {
      peers.set(msg.lport, msg.rport, msg);
      return;
    }
    const w = waiting.get(msg.id);
    if (w) {
      waiting.delete(msg.id);
      w(msg);
    } else if (msg.t === 'accept') {
      // The client gave up on this attempt already.
      writeLine(control, { t: 'cancel', id: msg.id });
    }
    if (waiting.size === 0) control.unref();
  });

  /** Sends a request; resolves with the answer, or undefined when forget() is called first. */
  function request(msg) {
    const id = nextId++;
    control.ref();
    const answer = new Promise((resolve) => waiting.set(id, resolve));
    writeLine(control, { ...msg, id });
    return {
      id,
      answer,
      forget() {
        const w = waiting.get(id);
        if (!w) return;
        waiting.delete(id);
        if (waiting.size === 0) control.unref();
        w(undefined);
      },
    };
  }

  // ——— names ———

  let resolverSocket;
  let nextQueryId = Math.floor(Math.random() * 0xffff);
  const queries = new Map();

  function resolver() {
    if (resolverSocket) return resolverSocket;
    resolverSocket = dgram.createSocket('udp4');
    resolverSocket.on('message', (msg) => {
      let reply;
      try {
        reply = decodeMessage(msg);
      } catch {
        return;
      }
      const q = queries.get(reply.id);
      if (q) {
        queries.delete(reply.id);
        q(reply);
      }
    });
    resolverSocket.on('error', () => {});
    resolverSocket.unref();
    return resolverSocket;
  }

  /** One A query with resolv.conf's defaults (timeout 5 s, 2 attempts); undefined when nobody answers. */
  async function queryA(name) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const id = (nextQueryId = (nextQueryId + 1) & 0xffff);
      const reply = await new Promise((resolve) => {
        const timer = setTimeout(() => {
          queries.delete(id);
          resolve(undefined);
        }, 5000);
        queries.set(id, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
        resolver().send(encodeQuery(id, name, TYPE_A), 53, cfg.dns);
      });
      if (reply) return reply;
    }
    return undefined;
  }

  /** IPv4 addresses of a name, searched like the pod's resolv.conf (search list, ndots). */
  async function lookupCluster(hostname) {
    const absolute = hostname.endsWith('.');
    const name = hostname.replace(/\.$/, '').toLowerCase();
    if (name === cfg.hostname.toLowerCase()) return [cfg.ip];
    const searched = cfg.search.map((domain) => `${name}.${domain}`);
    const dots = name.split('.').length - 1;
    const candidates = absolute ? [name] : dots >= cfg.ndots ? [name, ...searched] : [...searched, name];
    let unanswered = false;
    for (const candidate of candidates) {
      const reply = await queryA(candidate);
      if (!reply) {
        unanswered = true;
        continue;
      }
      const ips = reply.answers.filter((a) => a.type === TYPE_A).map((a) => a.address);
      if (reply.rcode === RCODE_NOERROR && ips.length > 0) return ips;
      if (reply.rcode !== RCODE_NOERROR && reply.rcode !== RCODE_NXDOMAIN) unanswered = true;
    }
    throw notFound(hostname, unanswered ? 'EAI_AGAIN' : 'ENOTFOUND');
  }

  function simLookup(hostname, options, callback) {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    } else if (typeof options === 'number') options = { family: options };
    options ??= {};
    if (!hostname || net.isIP(hostname) || isLoopbackHost(hostname)) return origLookup.call(dns, hostname, options, callback);
    lookupCluster(hostname).then(
      (ips) => {
        if (options.family === 6) callback(notFound(hostname));
        else if (options.all)
          callback(
            null,
            ips.map((address) => ({ address, family: 4 })),
          );
        else callback(null, ips[0], 4);
      },
      (err) => callback(err),
    );
    return {};
  }
  const origPromisesLookup = dns.promises.lookup;
  async function simPromisesLookup(hostname, options = {}) {
    if (typeof options === 'number') options = { family: options };
    if (!hostname || net.isIP(hostname) || isLoopbackHost(hostname)) return origPromisesLookup.call(dns.promises, hostname, options);
    const ips = await lookupCluster(hostname);
    if (options.family === 6) throw notFound(hostname);
    return options.all ? ips.map((address) => ({ address, family: 4 })) : { address: ips[0], family: 4 };
  }
  Object.defineProperty(simLookup, promisify.custom, { value: simPromisesLookup });
  dns.lookup = simLookup;
  dns.promises.lookup = simPromisesLookup;

  // dns.resolve*: A records through the cluster DNS like lookup; every other query goes to the kube-dns address
  // directly (unreachable outside the datapath), never to the machine's resolvers.
  const queryError = (err, hostname) =>
    Object.assign(new Error(`queryA ${err.code === 'EAI_AGAIN' ? 'ETIMEOUT' : 'ENOTFOUND'} ${hostname}`), {
      code: err.code === 'EAI_AGAIN' ? 'ETIMEOUT' : 'ENOTFOUND',
      syscall: 'queryA',
      hostname,
    });
  async function resolveA(hostname, options = {}) {
    try {
      const ips = net.isIPv4(hostname) ? [hostname] : await lookupCluster(hostname);
      return options.ttl ? ips.map((address) => ({ address, ttl: 30 })) : ips;
    } catch (err) {
      throw queryError(err, hostname);
    }
  }
  const callbackA = (hostname, options, cb) => {
    if (typeof options === 'function') [cb, options] = [options, {}];
    resolveA(hostname, options).then(
      (r) => cb(null, r),
      (err) => cb(err),
    );
  };
  for (const R of [dns.Resolver, dns.promises.Resolver]) {
    const isPromise = R === dns.promises.Resolver;
    const origResolve = R.prototype.resolve;
    R.prototype.resolve4 = isPromise ? (hostname, options) => resolveA(hostname, options) : callbackA;
    R.prototype.resolve = function simResolve(hostname, rrtype, cb) {
      if (typeof rrtype === 'function') [cb, rrtype] = [rrtype, 'A'];
      if ((rrtype ?? 'A') === 'A') return isPromise ? resolveA(hostname) : callbackA(hostname, {}, cb);
      return isPromise ? origResolve.call(this, hostname, rrtype) : origResolve.call(this, hostname, rrtype, cb);
    };
  }
  dns.setServers([cfg.dns]);
  dns.resolve4 = callbackA;
  dns.resolve = (hostname, rrtype, cb) => dns.Resolver.prototype.resolve.call(new dns.Resolver(), hostname, rrtype, cb);
  dns.promises.resolve4 = (hostname, options) => resolveA(hostname, options);
  dns.promises.resolve = (hostname, rrtype) => dns.promises.Resolver.prototype.resolve.call(new dns.promises.Resolver(), hostname, rrtype);
  for (const R of [dns.Resolver, dns.promises.Resolver]) {
    const origSetServers = R.prototype.setServers;
    // New resolvers start with the machine's servers; a pod's start with kube-dns.
    const Sim = class extends R {
      constructor(...args) {
        super(...args);
        origSetServers.call(this, [cfg.dns]);
      }
    };
    if (R === dns.Resolver) dns.Resolver = Sim;
    else dns.promises.Resolver = Sim;
  }

  /** The IPv4 address a connect or send goes to (names through the cluster DNS). */
  async function resolveHost(host) {
    if (net.isIPv4(host)) return host;
    if (isLoopbackHost(host)) return '127.0.0.1';
    if (net.isIPv6(host)) {
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
      if (mapped) return mapped[1];
      throw errnoError('ENETUNREACH', 'connect', host);
    }
    return (await lookupCluster(host))[0];
  }

  // ——— TCP clients ———

  let nextSport = 32768 + Math.floor(Math.random() * 28232);
  function takeSport() {
    nextSport = nextSport >= 60999 ? 32768 : nextSport + 1;
    return nextSport;
  }

  function realLocalPort(socket) {
    const out = {};
    socket._handle?.getsockname?.(out);
    return out.port;
  }

  /** Waits for the datapath's answer to one SYN, at most rtoMs; undefined means it vanished (or the app gave up). */
  function synAttempt(socket, msg, rtoMs) {
    const req = request(msg);
    const timer = setTimeout(() => req.forget(), rtoMs);
    const onClose = () => req.forget();
    socket.once('close', onClose);
    return req.answer.then((answer) => {
      clearTimeout(timer);
      socket.off('close', onClose);
      return answer;
    });
  }

  async function virtualConnect(socket, host, port) {
    let ip;
    try {
      ip = await resolveHost(host);
    } catch (err) {
      if (!net.isIP(host)) socket.emit('lookup', err, undefined, undefined, host);
      if (!socket.destroyed) socket.destroy(err);
      return;
    }
    if (!net.isIP(host)) socket.emit('lookup', null, ip, 4, host);
    const shownIp = host === '::1' ? '::1' : ip;
    const sport = takeSport();
    for (let attempt = 1; !socket.destroyed; attempt++) {
      const answer = await synAttempt(socket, { t: 'connect', sport, dst: ip, dport: port, attempt }, cfg.synRtoMs * 2 ** (attempt - 1));
      if (socket.destroyed) {
        if (answer?.t === 'accept') writeLine(control, { t: 'cancel', id: answer.id });
        return;
      }
      if (answer?.t === 'refuse') {
        socket.destroy(errnoError('ECONNREFUSED', 'connect', shownIp, port));
        return;
      }
      if (answer?.t === 'accept') {
        socket.prependOnceListener('connect', () => {
          writeLine(control, { t: 'bind', id: answer.id, port: realLocalPort(socket) });
          applyNames(socket, { ip: answer.src, port: answer.sport }, { ip: shownIp, port });
        });
        origConnect.call(socket, { port: answer.port, host: '127.0.0.1' });
        return;
      }
      if (attempt > cfg.synRetries) {
        socket.destroy(errnoError('ETIMEDOUT', 'connect', shownIp, port));
        return;
      }
    }
  }

  function normalizeConnectArgs(args) {
    if (Array.isArray(args[0])) return [args[0][0] ?? {}, args[0][1] ?? null];
    if (args[0] !== null && typeof args[0] === 'object') return [args[0], typeof args[1] === 'function' ? args[1] : null];
    if (typeof args[0] === 'string' && !/^\d+$/.test(args[0])) return [{ path: args[0] }, typeof args[1] === 'function' ? args[1] : null];
    const options = { port: args[0] };
    if (typeof args[1] === 'string') {
      options.host = args[1];
      return [options, typeof args[2] === 'function' ? args[2] : null];
    }
    return [options, typeof args[1] === 'function' ? args[1] : null];
  }

  net.Socket.prototype.connect = function simConnect(...args) {
    const [options, cb] = normalizeConnectArgs(args);
    const port = Number(options.port);
    if (options.path != null || (this._parent && this._parent.connecting) || !Number.isInteger(port) || port <= 0 || port > 65535) {
      return origConnect.apply(this, args);
    }
    const host = options.host || 'localhost';
    if (cb) this.once('connect', cb);
    if (this.write !== net.Socket.prototype.write) this.write = net.Socket.prototype.write;
    this.connecting = true;
    this._host = host;
    virtualConnect(this, host, port);
    return this;
  };

  // ——— TCP servers ———

  const kSim = Symbol('hubble-lab.sim');
  const kHooked = Symbol('hubble-lab.sim.hooked');

  function shownListenAddress(host) {
    if (!host) return { address: '::', family: 'IPv6' };
    if (host === 'localhost') return { address: '127.0.0.1', family: 'IPv4' };
    return { address: host, family: net.isIPv6(host) ? 'IPv6' : 'IPv4' };
  }

  function listenError(sim, proto, code) {
    const shown = shownListenAddress(sim.host).address;
    const syscall = proto === 'tcp' ? 'listen' : 'bind';
    const err = new Error(`${syscall} ${code}${proto === 'tcp' ? ': address already in use' : ''} ${shown}:${sim.requested}`);
    return Object.assign(err, { code, errno: -(os.constants.errno[code] ?? 1), syscall, address: shown, port: sim.requested });
  }

  /** Emits 'listening' only once the datapath knows the port, so the script never announces an unreachable port. */
  function deferListening(target, proto, realPort) {
    const emit = target.emit;
    target.emit = function emitWhenRegistered(event, ...args) {
      if (event !== 'listening' || !target[kSim] || target[kSim].vport !== undefined) return emit.call(this, event, ...args);
      const sim = target[kSim];
      const port = realPort();
      request({ t: 'listen', proto, port: sim.requested, realPort: port, loopback: sim.loopback }).answer.then((answer) => {
        if (target[kSim] !== sim) return;
        if (answer?.t === 'listening') {
          sim.vport = answer.port;
          emit.call(target, 'listening');
          return;
        }
        target[kSim] = undefined;
        if (proto === 'tcp') origServerClose.call(target);
        else origUdpClose.call(target);
        emit.call(target, 'error', listenError(sim, proto, answer?.code ?? 'EADDRINUSE'));
      });
      return true;
    };
  }

  function parseListenArgs(args) {
    const first = args[0];
    if (first !== null && typeof first === 'object') {
      if (first._handle || first.handle || first.fd !== undefined || first.path !== undefined || typeof first.getsockname === 'function') return undefined;
      return { port: first.port ?? 0, host: first.host, backlog: first.backlog };
    }
    if (typeof first === 'string' && !/^\d+$/.test(first)) return undefined;
    const port = typeof first === 'function' ? 0 : (first ?? 0);
    const host = typeof args[1] === 'string' ? args[1] : undefined;
    return { port, host };
  }

  net.Server.prototype.listen = function simListen(...args) {
    const parsed = parseListenArgs(args);
    const requested = Number(parsed?.port);
    if (!parsed || !Number.isInteger(requested) || requested < 0 || requested > 65535) return origListen.apply(this, args);
    const cb = typeof args[args.length - 1] === 'function' ? args[args.length - 1] : null;
    if (cb) this.once('listening', cb);
    if (!this[kHooked]) {
      this[kHooked] = true;
      holdConnections(this, () => origServerAddress.call(this)?.port, peers);
      deferListening(this, 'tcp', () => origServerAddress.call(this).port);
    }
    this[kSim] = { requested, host: parsed.host, loopback: parsed.host !== undefined && isLoopbackHost(parsed.host), vport: undefined };
    return origListen.call(this, { port: 0, host: '127.0.0.1', backlog: parsed.backlog, exclusive: true });
  };

  net.Server.prototype.address = function simServerAddress() {
    const real = origServerAddress.call(this);
    const sim = this[kSim];
    if (!sim || !real || typeof real === 'string') return real;
    return { ...shownListenAddress(sim.host), port: sim.vport ?? (sim.requested || real.port) };
  };

  net.Server.prototype.close = function simServerClose(...args) {
    const sim = this[kSim];
    if (sim?.vport !== undefined) writeLine(control, { t: 'unlisten', proto: 'tcp', port: sim.vport });
    this[kSim] = undefined;
    return origServerClose.apply(this, args);
  };

  // ——— UDP ———

  const kUdp = Symbol('hubble-lab.sim.udp');

  function udpState(socket) {
    if (!socket[kUdp]) {
      socket[kUdp] = { queue: [] };
      deferListening(socket, 'udp', () => origUdpAddress.call(socket).port);
      const emit = socket.emit;
      socket.emit = function emitVirtualMessage(event, ...args) {
        if (event !== 'message') return emit.call(this, event, ...args);
        const [msg, rinfo] = args;
        const parsed = rinfo.address === '127.0.0.1' && rinfo.port === cfg.udp ? parseUdpHeader(msg) : undefined;
        // Anything that did not come through the datapath does not reach a pod.
        if (!parsed) return false;
        return emit.call(this, 'message', parsed.payload, { address: parsed.ip, family: 'IPv4', port: parsed.port, size: parsed.payload.length });
      };
      socket.once('listening', () => {
        const queued = socket[kUdp].queue.splice(0);
        for (const fn of queued) fn();
      });
    }
    return socket[kUdp];
  }

  dgram.Socket.prototype.bind = function simBind(...args) {
    const first = args[0];
    if (first !== null && typeof first === 'object' && (first.fd !== undefined || typeof first.recvStart === 'function')) return origBind.apply(this, args);
    const cb = typeof args[args.length - 1] === 'function' ? args[args.length - 1] : null;
    const port = first !== null && typeof first === 'object' ? (first.port ?? 0) : typeof first === 'function' ? 0 : (first ?? 0);
    const host = first !== null && typeof first === 'object' ? first.address : typeof args[1] === 'string' ? args[1] : undefined;
    udpState(this);
    if (cb) this.once('listening', cb);
    this[kSim] = { requested: Number(port) || 0, host: host || '0.0.0.0', loopback: host !== undefined && isLoopbackHost(host), vport: undefined };
    return origBind.call(this, { port: 0, address: '127.0.0.1', exclusive: true });
  };

  dgram.Socket.prototype.address = function simUdpAddress() {
    const real = origUdpAddress.call(this);
    const sim = this[kSim];
    if (!sim) return real;
    return { ...shownListenAddress(sim.host), port: sim.vport ?? (sim.requested || real.port) };
  };

  dgram.Socket.prototype.close = function simUdpClose(...args) {
    const sim = this[kSim];
    if (sim?.vport !== undefined) writeLine(control, { t: 'unlisten', proto: 'udp', port: sim.vport });
    this[kSim] = undefined;
    return origUdpClose.apply(this, args);
  };

  dgram.Socket.prototype.connect = function simUdpConnect(port, address, callback) {
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    }
    const state = udpState(this);
    if (callback) this.once('connect', callback);
    resolveHost(address ?? '127.0.0.1').then(
      (ip) => {
        state.peer = { ip, port: Number(port) };
        this.emit('connect');
      },
      (err) => this.emit('error', err),
    );
  };

  dgram.Socket.prototype.disconnect = function simUdpDisconnect() {
    udpState(this).peer = undefined;
  };

  dgram.Socket.prototype.remoteAddress = function simUdpRemoteAddress() {
    const peer = this[kUdp]?.peer;
    if (!peer) throw Object.assign(new Error('Not connected'), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    return { address: peer.ip, family: 'IPv4', port: peer.port };
  };

  function toBuffer(b) {
    return typeof b === 'string' ? Buffer.from(b) : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }

  dgram.Socket.prototype.send = function simSend(buffer, offset, length, port, address, callback) {
    let list;
    let cb;
    if (address !== undefined || (port !== undefined && typeof port !== 'function')) {
      const whole = toBuffer(buffer);
      list = [whole.subarray(offset ?? 0, (offset ?? 0) + (length ?? whole.length))];
      cb = callback;
    } else {
      list = (Array.isArray(buffer) ? buffer : [buffer]).map(toBuffer);
      cb = port;
      port = offset;
      address = length;
    }
    if (typeof address === 'function') {
      cb = address;
      address = undefined;
    }
    if (typeof port === 'function') {
      cb = port;
      port = undefined;
    }
    const state = udpState(this);
    let dest;
    if (port === undefined) {
      if (!state.peer) return origSend.call(this, list, cb);
      dest = Promise.resolve(state.peer);
    } else dest = resolveHost(address ?? '127.0.0.1').then((ip) => ({ ip, port: Number(port) }));
    const go = () =>
      dest.then(
        (to) => origSend.call(this, [udpHeader(to.ip, to.port), ...list], cfg.udp, '127.0.0.1', cb && ((err, n) => cb(err, n && n - UDP_HEADER_BYTES))),
        (err) => (cb ? cb(err) : this.emit('error', err)),
      );
    if (!this[kSim]) this.bind({ port: 0 });
    if (this[kSim].vport === undefined) state.queue.push(go);
    else go();
  };

  // ——— the pod's identity ———

  let mac = '0a:58';
  for (const octet of cfg.ip.split('.')) mac += `:${Number(octet).toString(16).padStart(2, '0')}`;
  os.hostname = () => cfg.hostname;
  os.networkInterfaces = () => ({
    lo: [
      { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' },
      {
        address: '::1',
        netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
        family: 'IPv6',
        mac: '00:00:00:00:00:00',
        internal: true,
        cidr: '::1/128',
        scopeid: 0,
      },
    ],
    eth0: [{ address: cfg.ip, netmask: '255.255.255.255', family: 'IPv4', mac, internal: false, cidr: `${cfg.ip}/32` }],
  });
  syncBuiltinESMExports();
}
