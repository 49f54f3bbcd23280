// The L7 HTTP proxy Cilium's Envoy runs for traffic an http rule selects: checks each request against the rules,
// forwards allowed ones unchanged on one upstream connection, answers the rest with 403, and reports REQUEST and
// RESPONSE flows on each side whose rules saw them.
import type net from 'node:net';
import { httpRuleAllows, type HttpRequestFacts, type HttpRule } from '../../policy/index.ts';
import { BodyReader, HttpParseError, headEnd, parseRequestHead, parseResponseHead } from './http-parse.ts';
import type { ConnectionTrace } from './trace.ts';

/** The rules one proxy enforces: the client's egress proxy or the server's ingress proxy. */
export interface HttpPolicySide {
  side: 'egress' | 'ingress';
  rules: readonly HttpRule[];
}

export interface HttpProxyOptions {
  /** Egress first, then ingress: the order a request passes the proxies in. */
  sides: readonly HttpPolicySide[];
  /** The authority to print in URLs for a request without a Host header. */
  defaultHost: string;
}

/** Envoy's default max_request_headers_kb (60 KiB). */
const maxHeadBytes = 60 * 1024;
/** Client bytes held while a response is outstanding before the client is paused. */
const maxBuffered = 1024 * 1024;

let dateSecond = 0;
let dateText = '';
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/** A response Envoy makes itself (local reply): text/plain, its server header. */
function localReply(code: number, reason: string, body: string, close: boolean): string {
  return `HTTP/1.1 ${code} ${reason}\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncontent-type: text/plain\r\ndate: ${httpDate()}\r\nserver: envoy\r\n${close ? 'connection: close\r\n' : ''}\r\n${body}`;
}

const accessDenied = 'Access denied\r\n';
const upstreamFailure =
  'upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: 111';
const upstreamReset = 'upstream connect error or disconnect/reset before headers. reset reason: connection termination';

/** One request and its response. */
interface Exchange {
  method: string;
  url: string;
  startNs: bigint;
  /** The proxies that let the request through (their REQUEST flows were FORWARDED). */
  passed: readonly HttpPolicySide[];
  /** The proxy that refused it. */
  denied: HttpPolicySide | undefined;
  /** Its bytes go upstream; false once the proxy answers it itself. */
  forward: boolean;
  requestDone: boolean;
  responseStarted: boolean;
  responseDone: boolean;
  close: boolean;
}

/** Takes over an accepted client connection; `upstream` opens the connection to the server. */
export function proxyHttp(client: net.Socket, upstream: () => Promise<net.Socket>, trace: ConnectionTrace, opts: HttpProxyOptions): void {
  new HttpProxySession(client, upstream, trace, opts);
}

class HttpProxySession {
  private readonly sides: readonly HttpPolicySide[];
  private readonly wantHeaders: boolean;
  /** Client bytes not handled yet (the next request, waiting for the current response). */
  private held: Buffer | undefined;
  private requestBody: BodyReader | undefined;
  private current: Exchange | undefined;
  private up: net.Socket | undefined;
  private connecting = false;
  private readonly upQueue: Buffer[] = [];
  private responseHead: Buffer | undefined;
  private responseBody: BodyReader | undefined;
  private clientEnded = false;
  private finSent = false;
  private closed = false;

  constructor(
    private readonly client: net.Socket,
    private readonly upstream: () => Promise<net.Socket>,
    private readonly trace: ConnectionTrace,
    private readonly opts: HttpProxyOptions,
  ) {
    this.sides = opts.sides;
    this.wantHeaders = opts.sides.some((s) => s.rules.some((r) => (r.headers?.length ?? 0) > 0 || (r.headerMatches?.length ?? 0) > 0));
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.fromClient(chunk));
    client.on('end', () => this.clientEnd());
    client.on('error', () => this.abort('client'));
    client.on('close', () => this.clientClosed());
    trace.established();
  }

  // ——— requests ———

  private fromClient(chunk: Buffer): void {
    this.trace.data('request');
    let buf = chunk;
    if (this.held) {
      buf = Buffer.concat([this.held, chunk]);
      this.held = undefined;
    }
    this.readRequests(buf);
  }

  /** Handles as many requests as `buf` holds, forwarding allowed bytes upstream in as few writes as possible. */
  private readRequests(buf: Buffer): void {
    let pos = 0;
    let forwardFrom = this.requestBody && this.current?.forward ? 0 : -1;
    const flush = () => {
      if (forwardFrom >= 0 && pos > forwardFrom) this.sendUp(buf.subarray(forwardFrom, pos));
      forwardFrom = -1;
    };
    while (!this.closed) {
      if (this.requestBody) {
        pos += this.requestBody.consume(buf, pos);
        if (!this.requestBody.done) break;
        this.requestBody = undefined;
        flush();
        this.requestComplete();
        continue;
      }
      if (pos >= buf.length) break;
      if (this.current) {
        // No pipelining: the next request waits for the current response.
        this.held = buf.subarray(pos);
        if (this.held.length > maxBuffered) this.client.pause();
        break;
      }
      const end = headEnd(buf, pos);
      if (end < 0) {
        if (buf.length - pos > maxHeadBytes) this.refuseMalformed(431, 'Request Header Fields Too Large');
        else this.held = buf.subarray(pos);
        break;
      }
      let head;
      try {
        head = parseRequestHead(buf.toString('latin1', pos, end), this.wantHeaders);
      } catch (err) {
        if (!(err instanceof HttpParseError)) throw err;
        this.refuseMalformed(400, 'Bad Request');
        break;
      }
      const exchange = this.begin(head.method, head.target, head.host, head.headers, head.close);
      if (exchange.forward) forwardFrom = pos;
      pos = end;
      this.requestBody = new BodyReader(head.framing);
    }
    flush();
  }

  /** Checks a request against each proxy's rules and reports it. */
  private begin(method: string, target: string, host: string | undefined, headers: Record<string, string | string[]> | undefined, close: boolean): Exchange {
    const url = `http://${host ?? this.opts.defaultHost}${target}`;
    const facts: HttpRequestFacts = headers ? { headers, ...(host !== undefined ? { host } : {}) } : host !== undefined ? { host } : {};
    let denied: HttpPolicySide | undefined;
    let passed = this.sides;
    for (let i = 0; i < this.sides.length; i++) {
      const s = this.sides[i]!;
      if (!httpRuleAllows(s.rules, method, target, facts)) {
        denied = s;
        passed = this.sides.slice(0, i);
        break;
      }
    }
    const { flows } = this.trace;
    const record = { method, url };
    for (const s of passed) flows.httpRequest(s.side, record);
    if (denied) flows.httpRequest(denied.side, record, 'DROPPED');
    const exchange: Exchange = {
      method,
      url,
      startNs: process.hrtime.bigint(),
      passed,
      denied,
      forward: !denied,
      requestDone: false,
      responseStarted: false,
      responseDone: false,
      close,
    };
    this.current = exchange;
    return exchange;
  }

  private requestComplete(): void {
    const x = this.current!;
    x.requestDone = true;
    if (x.responseDone) this.finishExchange();
    else if (!x.forward) this.answerLocally(x, 403, 'Forbidden', accessDenied);
  }

  /** The proxy answers the request itself; the proxies it passed see that response on its way back. */
  private answerLocally(x: Exchange, code: number, reason: string, body: string): void {
    x.forward = false;
    x.responseStarted = true;
    this.reportResponse(x, code, x.denied);
    this.trace.data('reply');
    this.client.write(localReply(code, reason, body, x.close));
    x.responseDone = true;
    if (x.requestDone) this.finishExchange();
  }

  /** RESPONSE flows, nearest the server first: the refusing proxy (if any), then the ones the request passed. */
  private reportResponse(x: Exchange, code: number, origin: HttpPolicySide | undefined): void {
    const record = { code, method: x.method, url: x.url, latencyNs: process.hrtime.bigint() - x.startNs };
    const { flows } = this.trace;
    if (origin) flows.httpResponse(origin.side, record);
    for (let i = x.passed.length - 1; i >= 0; i--) flows.httpResponse(x.passed[i]!.side, record);
  }

  private finishExchange(): void {
    const x = this.current!;
    this.current = undefined;
    if (x.close || this.clientEnded) {
      this.sendFin();
      return;
    }
    const held = this.held;
    if (held) {
      this.held = undefined;
      this.client.resume();
      this.readRequests(held);
    }
  }

  private refuseMalformed(code: number, reason: string): void {
    this.held = undefined;
    this.client.write(localReply(code, reason, reason, true));
    this.trace.data('reply');
    this.sendFin();
  }

  // ——— upstream ———

  private sendUp(bytes: Buffer): void {
    if (this.up) {
      if (!this.up.write(bytes)) this.backpressure(this.client, this.up);
      return;
    }
    this.upQueue.push(bytes);
    if (this.connecting) return;
    this.connecting = true;
    this.upstream().then(
      (socket) => this.attachUpstream(socket),
      () => this.upstreamFailed(),
    );
  }

  private attachUpstream(socket: net.Socket): void {
    this.connecting = false;
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.up = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.fromUpstream(chunk));
    socket.on('end', () => this.upstreamEnd());
    socket.on('error', () => this.abort('server'));
    const queued = this.upQueue.length === 1 ? this.upQueue[0]! : Buffer.concat(this.upQueue);
    this.upQueue.length = 0;
    if (!socket.write(queued)) this.backpressure(this.client, socket);
    if (this.clientEnded && !this.current) socket.end();
  }

  /** Nothing listens behind the proxy: Envoy answers 503 for the request waiting on it. */
  private upstreamFailed(): void {
    this.connecting = false;
    this.upQueue.length = 0;
    const x = this.current;
    if (x?.forward && !x.responseStarted) this.answerLocally(x, 503, 'Service Unavailable', upstreamFailure);
  }

  private fromUpstream(chunk: Buffer): void {
    let buf = chunk;
    if (this.responseHead) {
      buf = Buffer.concat([this.responseHead, chunk]);
      this.responseHead = undefined;
    }
    let pos = 0;
    let written = 0;
    while (pos < buf.length) {
      const x = this.current;
      if (!x?.forward) {
        // The server spoke out of turn (no request is waiting for it): nothing sensible can follow.
        this.abort('server');
        return;
      }
      if (this.responseBody) {
        pos += this.responseBody.consume(buf, pos);
        if (!this.responseBody.done) break;
        this.responseBody = undefined;
        this.writeClient(buf, written, pos);
        written = pos;
        this.responseComplete(x);
        continue;
      }
      const end = headEnd(buf, pos);
      if (end < 0) {
        if (buf.length - pos > maxHeadBytes) {
          this.abort('server');
          return;
        }
        // An incomplete head is held back until the rest of it arrives.
        this.responseHead = buf.subarray(pos);
        break;
      }
      let head;
      try {
        head = parseResponseHead(buf.toString('latin1', pos, end), x.method);
      } catch (err) {
        if (!(err instanceof HttpParseError)) throw err;
        this.abort('server');
        return;
      }
      pos = end;
      if (head.code < 200) continue; // 100 Continue and friends go to the client as they are
      x.responseStarted = true;
      if (head.close) x.close = true;
      this.reportResponse(x, head.code, undefined);
      this.responseBody = new BodyReader(head.framing);
      if (this.responseBody.done) {
        this.responseBody = undefined;
        this.writeClient(buf, written, pos);
        written = pos;
        this.responseComplete(x);
      }
    }
    this.writeClient(buf, written, pos);
  }

  private writeClient(buf: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.trace.data('reply');
    if (!this.client.write(from === 0 && to === buf.length ? buf : buf.subarray(from, to)) && this.up) this.backpressure(this.up, this.client);
  }

  private responseComplete(x: Exchange): void {
    x.responseDone = true;
    if (x.requestDone) this.finishExchange();
  }

  /** The server closed its side: a response read until close ends here; the client is closed too. */
  private upstreamEnd(): void {
    this.trace.end('server');
    const x = this.current;
    if (x?.forward && this.responseBody) {
      if (!this.responseBody.end()) {
        this.abort('server');
        return;
      }
      this.responseBody = undefined;
      this.responseComplete(x);
    } else if (x?.forward && !x.responseStarted) {
      this.answerLocally(x, 503, 'Service Unavailable', upstreamReset);
    }
    this.sendFin();
  }

  // ——— connection ———

  private backpressure(source: net.Socket, sink: net.Socket): void {
    source.pause();
    sink.once('drain', () => source.resume());
  }

  private clientEnd(): void {
    this.clientEnded = true;
    this.trace.end('client');
    if (this.requestBody && !this.requestBody.end()) {
      // The request was cut short: nothing more can be answered.
      this.abort('client');
      return;
    }
    if (!this.current) this.sendFin();
  }

  /** Closes our side of the client connection (and the upstream's), once. */
  private sendFin(): void {
    if (this.finSent) return;
    this.finSent = true;
    this.trace.end('server');
    this.client.end();
    this.up?.end();
  }

  private abort(side: 'client' | 'server'): void {
    if (this.closed) return;
    this.closed = true;
    this.trace.reset(side);
    this.client.resetAndDestroy();
    this.up?.resetAndDestroy();
  }

  private clientClosed(): void {
    this.closed = true;
    this.up?.destroy();
  }
}
