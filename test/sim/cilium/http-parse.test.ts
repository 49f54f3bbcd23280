// HTTP/1.1 heads and body framing as the sim's L7 proxy reads them, with bodies cut at every possible byte.
import t from 'tap';
import { BodyReader, headEnd, parseRequestHead, parseResponseHead } from '../../../lib/sim/cilium/http-parse.ts';

/** Feeds `bytes` in pieces cut at `cuts`; returns how many bytes the body took and whether it ended. */
function feed(reader: BodyReader, bytes: Buffer, cuts: number[]): { used: number; done: boolean } {
  let used = 0;
  let start = 0;
  for (const end of [...cuts, bytes.length]) {
    const piece = bytes.subarray(start, end);
    start = end;
    if (reader.done) break;
    used += reader.consume(piece, 0);
  }
  return { used, done: reader.done };
}

t.test('request heads: method, target, Host, framing and keep-alive', async (t) => {
  const get = 'GET /api/v1/tasks?id=7 HTTP/1.1\r\nHost: web.demo.svc.cluster.local\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n';
  t.same(parseRequestHead(get), { method: 'GET', target: '/api/v1/tasks?id=7', host: 'web.demo.svc.cluster.local', framing: { kind: 'none' }, close: false });
  const post = 'POST /x HTTP/1.1\r\nhost: a\r\nContent-Length: 12\r\nConnection: close\r\n\r\n';
  t.match(parseRequestHead(post), { method: 'POST', framing: { kind: 'length', length: 12 }, close: true });
  const chunked = 'PUT /y HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n';
  t.match(parseRequestHead(chunked), { framing: { kind: 'chunked' } });
  t.match(parseRequestHead('GET / HTTP/1.0\r\n\r\n'), { close: true, host: undefined }, 'HTTP/1.0 closes unless it asks to keep alive');
  t.match(parseRequestHead('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n'), { close: false });
  t.same(
    parseRequestHead('GET / HTTP/1.1\r\nX-Team: a\r\nx-team: b\r\nHost: h\r\n\r\n', true).headers,
    { 'x-team': ['a', 'b'], host: 'h' },
    'all headers on request, repeated ones as a list',
  );
});

t.test('malformed requests are refused with the reason', async (t) => {
  t.throws(() => parseRequestHead('GARBAGE\r\n\r\n'), { name: 'HttpParseError', message: 'malformed request line "GARBAGE"' });
  t.throws(() => parseRequestHead('GET / SPDY/3\r\n\r\n'), { message: 'unsupported protocol "SPDY/3"' });
  t.throws(() => parseRequestHead('GET / HTTP/1.1\r\nno colon here\r\n\r\n'), { message: 'malformed header line "no colon here"' });
  t.throws(() => parseRequestHead('POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n'), { message: 'conflicting Content-Length headers' });
  t.throws(() => parseRequestHead('POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n'), { message: 'invalid Content-Length "-1"' });
  t.throws(() => parseRequestHead('POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n'), { message: 'unsupported Transfer-Encoding "gzip"' });
});

t.test('response heads: which responses carry a body and how it ends', async (t) => {
  t.same(parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n', 'GET'), { code: 200, framing: { kind: 'length', length: 3 }, close: false });
  t.same(parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n', 'HEAD').framing, { kind: 'none' }, 'HEAD never has a body');
  t.same(parseResponseHead('HTTP/1.1 204 No Content\r\n\r\n', 'GET').framing, { kind: 'none' });
  t.same(parseResponseHead('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', 'GET').framing, { kind: 'none' });
  t.same(parseResponseHead('HTTP/1.1 100 Continue\r\n\r\n', 'POST'), { code: 100, framing: { kind: 'none' }, close: false });
  t.same(parseResponseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'GET').framing, { kind: 'chunked' });
  t.same(
    parseResponseHead('HTTP/1.1 200 OK\r\n\r\n', 'GET'),
    { code: 200, framing: { kind: 'until-close' }, close: true },
    'no length: the body runs to the close',
  );
  t.throws(() => parseResponseHead('HTTP/1.1 abc\r\n\r\n', 'GET'), { name: 'HttpParseError' });
});

t.test('headEnd finds the blank line, also from an offset', async (t) => {
  const two = Buffer.from('GET / HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal(headEnd(two), 18);
  t.equal(headEnd(two, 18), two.length);
  t.equal(headEnd(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n')), -1);
});

t.test('a chunked body ends at its last chunk however the bytes are cut', async (t) => {
  const body = Buffer.from('5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: yes\r\n\r\n');
  const next = Buffer.from('GET /next HTTP/1.1\r\n\r\n');
  const all = Buffer.concat([body, next]);
  for (let cut = 1; cut < all.length; cut++) {
    const got = feed(new BodyReader({ kind: 'chunked' }), all, [cut]);
    if (got.used !== body.length || !got.done) t.fail(`cut at ${cut}: used ${got.used}, done ${got.done}`);
  }
  const pieces = feed(
    new BodyReader({ kind: 'chunked' }),
    all,
    Array.from({ length: all.length - 1 }, (_, i) => i + 1),
  );
  t.same(pieces, { used: body.length, done: true }, 'one byte at a time');
  t.throws(() => new BodyReader({ kind: 'chunked' }).consume(Buffer.from('zz\r\n'), 0), { message: 'invalid chunk size "zz"' });
});

t.test('a content-length body takes exactly its length; an until-close body ends with the connection', async (t) => {
  const r = new BodyReader({ kind: 'length', length: 10 });
  t.equal(r.consume(Buffer.from('0123456'), 0), 7);
  t.notOk(r.done);
  t.equal(r.consume(Buffer.from('789GET'), 0), 3);
  t.ok(r.done);
  const c = new BodyReader({ kind: 'until-close' });
  t.equal(c.consume(Buffer.from('abc'), 1), 2);
  t.notOk(c.done);
  t.ok(c.end(), 'the close ends it');
  t.notOk(new BodyReader({ kind: 'length', length: 4 }).end(), 'a body cut short by the close is incomplete');
});
