// Gives sockets their virtual addresses: a server's accepted connection shows the client's pod IP and port, a
// client's socket shows its own pod IP, instead of the 127.0.0.1 ports the datapath really uses.
// Plain ESM with no imports, shared by the pod preload and the in-process pods.

/** How long a server holds a new connection waiting to learn who is behind it before showing it as it is. */
const HOLD_MS = 2000;

/** Makes socket.remoteAddress/remotePort/localAddress/localPort/address() report the virtual addresses. */
export function applyNames(socket, local, remote) {
  // net.Socket caches getpeername/getsockname results in these fields and reads them before asking the handle.
  if (remote) socket._peername = { address: remote.ip, family: 'IPv4', port: remote.port };
  if (local) socket._sockname = { address: local.ip, family: 'IPv4', port: local.port };
}

/** Who is behind each connection the datapath opened to a local listener, keyed by (listener real port, remote port). */
export class PeerBook {
  #known = new Map();
  #waiting = new Map();

  /** Records the peer announced for the connection to listener port lport from 127.0.0.1:rport. */
  set(lport, rport, peer) {
    const key = `${lport}|${rport}`;
    const waiter = this.#waiting.get(key);
    if (waiter) {
      this.#waiting.delete(key);
      clearTimeout(waiter.timer);
      waiter.resolve(peer);
      return;
    }
    this.#known.set(key, peer);
    // An announcement whose connection never arrives must not stay forever.
    if (this.#known.size > 4096) this.#known.delete(this.#known.keys().next().value);
  }

  /** Calls cb with the announced peer (now or when it arrives), or with undefined after the hold time. */
  take(lport, rport, cb) {
    const key = `${lport}|${rport}`;
    const peer = this.#known.get(key);
    if (peer) {
      this.#known.delete(key);
      cb(peer);
      return;
    }
    const timer = setTimeout(() => {
      this.#waiting.delete(key);
      cb(undefined);
    }, HOLD_MS);
    timer.unref?.();
    this.#waiting.set(key, { resolve: cb, timer });
  }
}

/**
 * Delays a server's 'connection' events until the datapath has said who is behind each connection, then names the
 * socket accordingly; realPort() is the server's real 127.0.0.1 port.
 */
export function holdConnections(server, realPort, book) {
  const emit = server.emit;
  server.emit = function emitWithPeer(event, ...args) {
    if (event !== 'connection') return emit.call(this, event, ...args);
    const socket = args[0];
    const rport = socket.remotePort;
    if (rport === undefined) return emit.call(this, event, ...args);
    book.take(realPort(), rport, (peer) => {
      if (peer) applyNames(socket, { ip: peer.dst, port: peer.dport }, { ip: peer.src, port: peer.sport });
      if (!socket.destroyed) emit.call(server, 'connection', socket);
    });
    return true;
  };
}
