// Wire formats between pod processes and the sim's datapath: JSON-line control messages and the UDP address header.
// Plain ESM with no imports so the pod preload can load it without a TypeScript loader; message shapes are
// described in wire.d.mts.

/** Calls onMessage with each JSON line received on a stream; a malformed line is reported once and ends the stream. */
export function readLines(stream, onMessage, onBad) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line) continue;
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        onBad?.(line);
        stream.destroy();
        return;
      }
      onMessage(msg);
    }
  });
}

export function writeLine(stream, msg) {
  if (!stream.destroyed) stream.write(`${JSON.stringify(msg)}\n`);
}

/** Marks a datagram that carries a virtual address; datagrams without it never reach a pod. */
const UDP_MAGIC = 0x4853;
export const UDP_HEADER_BYTES = 8;

/** Prefix for a datagram: the virtual destination (pod → datapath) or the virtual source (datapath → pod). */
export function udpHeader(ip, port) {
  const buf = Buffer.alloc(UDP_HEADER_BYTES);
  buf.writeUInt16BE(UDP_MAGIC, 0);
  const octets = ip.split('.');
  for (let i = 0; i < 4; i++) buf[2 + i] = Number(octets[i]) & 0xff;
  buf.writeUInt16BE(port, 6);
  return buf;
}

/** The address in a datagram's header and its payload, or undefined when the datagram has no header. */
export function parseUdpHeader(msg) {
  if (msg.length < UDP_HEADER_BYTES || msg.readUInt16BE(0) !== UDP_MAGIC) return undefined;
  return { ip: `${msg[2]}.${msg[3]}.${msg[4]}.${msg[5]}`, port: msg.readUInt16BE(6), payload: msg.subarray(UDP_HEADER_BYTES) };
}
