// pods/exec as the kubelet serves it: the remote command protocols kubectl speaks — WebSocket with binary channels
// (v5/v4.channel.k8s.io: 0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize, v5's 255 to close stdin) and SPDY/3.1
// with one stream per channel (v4.channel.k8s.io) — around a command the pod runtime runs.
import type { IncomingMessage } from 'node:http';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import type { ExecStreams, RunningPod } from '../runtime/types.ts';
import { acceptWebSocket, offeredProtocols, rejectUpgrade } from '../net/websocket.ts';
import { SpdySession, type SpdyStream } from '../net/spdy.ts';

/** Which of the command's streams the client asked for (query stdin, stdout, stderr, tty). */
export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** What ran: an exit code, or an error the kubelet reports instead of running it. */
export type RemoteResult = { exitCode: number; command?: string[] } | { error: string };

/** Runs the command with the client's streams; resolves when it ended. */
export type RemoteRunner = (io: ExecStreams) => Promise<RemoteResult>;

const websocketProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const spdyProtocols = ['v4.channel.k8s.io', 'v5.channel.k8s.io'];
/** How long the kubelet waits for a SPDY client to open the streams it announced (streamCreationTimeout). */
const streamCreationMs = 30_000;

function failure(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function bool(v: string | null): boolean {
  return v === 'true' || v === '1';
}

export function streamOptions(url: URL): StreamOptions {
  const q = url.searchParams;
  const tty = bool(q.get('tty'));
  return { stdin: bool(q.get('stdin')), stdout: bool(q.get('stdout')), stderr: bool(q.get('stderr')) && !tty, tty };
}

/** The Status the kubelet sends on the error channel when the command ends. */
export function resultStatus(result: RemoteResult): string {
  if ('error' in result) return JSON.stringify({ metadata: {}, status: 'Failure', message: result.error, reason: 'InternalError', code: 500 });
  if (result.exitCode === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
  const command = result.command ? `error executing command [${result.command.join(' ')}], ` : '';
  return JSON.stringify({
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: ${command}exit code ${result.exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(result.exitCode) }] },
  });
}

/** A Writable that hands each chunk to `send`. */
function sink(send: (chunk: Buffer) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      send(chunk);
      cb();
    },
  });
}

/** Serves one remote command upgrade (exec or attach) over WebSocket channels or SPDY streams. */
export function serveRemoteCommand(req: IncomingMessage, socket: Duplex, head: Buffer, opts: StreamOptions, run: RemoteRunner): void {
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (!opts.stdin && !opts.stdout && !opts.stderr && !opts.tty) {
    rejectUpgrade(socket, 400, 'Bad Request', failure(400, 'BadRequest', 'you must specify at least 1 of stdin, stdout, stderr'));
    return;
  }
  if (upgrade === 'spdy/3.1') return serveSpdy(req, socket, head, opts, run);
  if (upgrade !== 'websocket') {
    rejectUpgrade(socket, 400, 'Bad Request', failure(400, 'BadRequest', 'exec and attach need a WebSocket (v5.channel.k8s.io) or SPDY/3.1 upgrade'));
    return;
  }
  if (!offeredProtocols(req).some((p) => websocketProtocols.includes(p))) {
    // kubectl falls back to SPDY when the WebSocket upgrade is refused.
    rejectUpgrade(
      socket,
      400,
      'Bad Request',
      failure(
        400,
        'BadRequest',
        `unable to upgrade: no supported protocol among [${offeredProtocols(req).join(' ')}]; supports [${websocketProtocols.join(' ')}]`,
      ),
    );
    return;
  }
  acceptWebSocket(req, socket, head, websocketProtocols, (ws) => {
    const abort = new AbortController();
    const stdin = opts.stdin ? new PassThrough() : undefined;
    const channel = (n: number) => (chunk: Buffer) => ws.send(Buffer.concat([Buffer.from([n]), chunk]));
    ws.on('message', (data) => {
      const ch = data[0];
      if (ch === 0) stdin?.write(data.subarray(1));
      else if (ch === 255 && data[1] === 0) stdin?.end();
      // 4: terminal size; the sim's processes have no terminal to resize.
    });
    ws.on('close', () => {
      stdin?.end();
      abort.abort();
    });
    const io: ExecStreams = {
      ...(stdin ? { stdin } : {}),
      stdout: opts.stdout || opts.tty ? sink(channel(1)) : sink(() => {}),
      stderr: opts.stderr ? sink(channel(2)) : opts.tty ? sink(channel(1)) : sink(() => {}),
      tty: opts.tty,
      signal: abort.signal,
    };
    void run(io).then(
      (result) => {
        channel(3)(Buffer.from(resultStatus(result)));
        ws.close(1000);
      },
      (err: unknown) => {
        channel(3)(Buffer.from(resultStatus({ error: err instanceof Error ? err.message : String(err) })));
        ws.close(1000);
      },
    );
  });
}

function serveSpdy(req: IncomingMessage, socket: Duplex, head: Buffer, opts: StreamOptions, run: RemoteRunner): void {
  const raw = req.headers['x-stream-protocol-version'];
  const offered = (Array.isArray(raw) ? raw : [raw ?? '']).flatMap((v) => v.split(',')).map((v) => v.trim());
  const protocol = spdyProtocols.find((p) => offered.includes(p));
  if (!protocol) {
    rejectUpgrade(
      socket,
      403,
      'Forbidden',
      failure(
        403,
        'Forbidden',
        `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server supports [${spdyProtocols.join(' ')}]`,
      ),
    );
    return;
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
  const session = new SpdySession((frame) => socket.write(frame));
  const abort = new AbortController();
  socket.on('data', (chunk: Buffer) => session.receive(chunk));
  socket.on('close', () => {
    session.transportClosed();
    abort.abort();
  });
  socket.on('error', () => socket.destroy());
  session.on('close', () => socket.end());

  const expected = [
    'error',
    ...(opts.stdin ? ['stdin'] : []),
    ...(opts.stdout ? ['stdout'] : []),
    ...(opts.stderr ? ['stderr'] : []),
    ...(opts.tty ? ['resize'] : []),
  ];
  const streams = new Map<string, SpdyStream>();
  const timer = setTimeout(() => session.close(), streamCreationMs);
  let started = false;
  session.on('stream', (stream) => {
    const type = stream.headers.streamtype ?? '';
    stream.reply();
    stream.on('error', () => {});
    if (!expected.includes(type) || streams.has(type) || started) {
      stream.resume();
      return;
    }
    streams.set(type, stream);
    if (type !== 'stdin') stream.resume();
    if (streams.size < expected.length) return;
    started = true;
    clearTimeout(timer);
    const out = streams.get('stdout');
    const err = streams.get('stderr');
    const io: ExecStreams = {
      ...(streams.get('stdin') ? { stdin: streams.get('stdin')! } : {}),
      stdout: out ?? sink(() => {}),
      stderr: err ?? out ?? sink(() => {}),
      tty: opts.tty,
      signal: abort.signal,
    };
    const finish = (status: string) => {
      out?.end();
      err?.end();
      streams.get('error')!.end(status);
      // The client reads every stream to its end, then the kubelet hangs up.
      setTimeout(() => session.close(), 100).unref();
    };
    void run(io).then(
      (result) => finish(resultStatus(result)),
      (e: unknown) => finish(resultStatus({ error: e instanceof Error ? e.message : String(e) })),
    );
  });
  if (head.length) session.receive(head);
}

/** pods/exec: the command from the query (`command` repeated) in the named or default container. */
export function handleExec(req: IncomingMessage, socket: Duplex, head: Buffer, pod: RunningPod): void {
  const url = new URL(req.url ?? '/', 'http://sim');
  const command = url.searchParams.getAll('command');
  if (command.length === 0) {
    rejectUpgrade(socket, 400, 'Bad Request', failure(400, 'BadRequest', 'you must specify at least 1 command'));
    return;
  }
  const container = url.searchParams.get('container') || undefined;
  if (!pod.exec) {
    rejectUpgrade(socket, 400, 'Bad Request', failure(400, 'BadRequest', 'the pod runtime does not run commands in containers'));
    return;
  }
  const exec = pod.exec.bind(pod);
  serveRemoteCommand(req, socket, head, streamOptions(url), async (io) => ({ exitCode: await exec(container, command, io), command }));
}
