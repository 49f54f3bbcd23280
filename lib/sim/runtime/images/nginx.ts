// nginx:* as nginx:alpine's default site: the welcome page on /, nginx's error pages, its headers and access log,
// and files from a volume mounted at /usr/share/nginx/html when the pod has one.
import http from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import type { ContainerContext, ContainerProcess } from '../images.ts';

export const nginxVersion = '1.27.5';
const htmlRoot = '/usr/share/nginx/html';
/** When the image's bundled index.html was built (its Last-Modified and ETag). */
const bundledMtime = new Date('2025-04-16T15:01:11Z');

export const welcomePage = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`;

const errorPage50x = `<!DOCTYPE html>
<html>
<head>
<title>Error</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
<p>If you are the system administrator of this resource then you should check
the error log for details.</p>
<p><em>Faithfully yours, nginx.</em></p>
</body>
</html>
`;

/** nginx's built-in error page (CRLF line ends, as nginx writes them). */
export function errorPage(status: number, text: string): string {
  return `<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n<hr><center>nginx/${nginxVersion}</center>\r\n</body>\r\n</html>\r\n`;
}

const mimeTypes: Record<string, string> = {
  '.html': 'text/html',
  '.htm': 'text/html',
  '.css': 'text/css',
  '.js': 'application/javascript',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.xml': 'text/xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

const httpDate = (d: Date) => d.toUTCString();
const logDate = (d: Date) => {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
};
const errorLogDate = (d: Date) => d.toISOString().replace('T', ' ').replace(/-/g, '/').slice(0, 19);

interface Found {
  body: Buffer;
  type: string;
  mtime: Date;
}

/** The file behind a URL path: from the mounted html root when there is one, else the image's bundled pages. */
async function findFile(ctx: ContainerContext, urlPath: string): Promise<Found | undefined> {
  let path = decodeURIComponent(urlPath.split('?')[0] ?? '/');
  if (path.endsWith('/')) path += 'index.html';
  const clean = normalize(path);
  if (!clean.startsWith('/')) return undefined;
  const root = ctx.path(htmlRoot);
  if (existsSync(root)) {
    const file = join(root, clean);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) return undefined;
    return { body: await readFile(file), type: mimeTypes[extname(file)] ?? 'application/octet-stream', mtime: st.mtime };
  }
  if (clean === '/index.html') return { body: Buffer.from(welcomePage), type: 'text/html', mtime: bundledMtime };
  if (clean === '/50x.html') return { body: Buffer.from(errorPage50x), type: 'text/html', mtime: bundledMtime };
  return undefined;
}

export async function nginxImage(ctx: ContainerContext): Promise<ContainerProcess> {
  const server = http.createServer(async (req, res) => {
    const now = new Date();
    const found = await findFile(ctx, req.url ?? '/').catch(() => undefined);
    const method = req.method ?? 'GET';
    let status: number;
    let body: Buffer;
    const headers: [string, string][] = [
      ['Server', `nginx/${nginxVersion}`],
      ['Date', httpDate(now)],
      ['Content-Type', 'text/html'],
    ];
    if (found && method !== 'GET' && method !== 'HEAD') {
      status = 405;
      body = Buffer.from(errorPage(405, 'Not Allowed'));
      headers.push(['Content-Length', String(body.length)]);
    } else if (found) {
      status = 200;
      body = found.body;
      headers[2] = ['Content-Type', found.type];
      headers.push(['Content-Length', String(body.length)], ['Last-Modified', httpDate(found.mtime)]);
    } else {
      status = 404;
      body = Buffer.from(errorPage(404, 'Not Found'));
      headers.push(['Content-Length', String(body.length)]);
    }
    headers.push(['Connection', res.shouldKeepAlive ? 'keep-alive' : 'close']);
    if (status === 200 && found) {
      headers.push(['ETag', `"${Math.floor(found.mtime.getTime() / 1000).toString(16)}-${body.length.toString(16)}"`], ['Accept-Ranges', 'bytes']);
    }
    res.writeHead(status, headers.flat());
    res.end(method === 'HEAD' ? undefined : body);
    const sent = method === 'HEAD' ? 0 : body.length;
    const h = (name: string) => req.headers[name] ?? '-';
    ctx.log(
      `${req.socket.remoteAddress ?? '-'} - - [${logDate(now)}] "${method} ${req.url} HTTP/${req.httpVersion}" ${status} ${sent} "${h('referer')}" "${h('user-agent')}" "${h('x-forwarded-for')}"`,
    );
  });
  // nginx sends no Keep-Alive header and closes idle connections after keepalive_timeout (65 s).
  server.keepAliveTimeout = 0;
  server.on('connection', (socket) => socket.setTimeout(65_000, () => socket.destroy()));
  for (const line of [
    '/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration',
    '/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/',
    '/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh',
    '10-listen-on-ipv6-by-default.sh: info: Getting the checksum of /etc/nginx/conf.d/default.conf',
    '10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf',
    '/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh',
    '/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh',
    '/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh',
    '/docker-entrypoint.sh: Configuration complete; ready for start up',
  ])
    ctx.log(line);
  await ctx.net.listen(server, 80);
  const t = errorLogDate(new Date());
  ctx.log(`${t} [notice] 1#1: using the "epoll" event method`);
  ctx.log(`${t} [notice] 1#1: nginx/${nginxVersion}`);
  ctx.log(`${t} [notice] 1#1: start worker processes`);
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        ctx.log(`${errorLogDate(new Date())} [notice] 1#1: signal 3 (SIGQUIT) received from 0, shutting down`);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
