// Test helpers for the sim: a cluster on the stand-in runtime, raw HTTPS requests with its CA, and polling.
import { request } from 'node:https';
import type { Test } from 'tap';
import { startSimCluster, type SimCluster, type SimClusterOptions } from '../../lib/sim/cluster.ts';
import { trivialRuntime } from './trivial-runtime.ts';

export async function testCluster(t: Test, opts: SimClusterOptions = {}): Promise<SimCluster> {
  const cluster = await startSimCluster({ runtime: trivialRuntime(), ...opts });
  t.teardown(() => cluster.stop());
  return cluster;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One HTTPS request to the sim's API server, trusting its CA; `token: null` sends no Authorization header. */
export function raw(
  cluster: SimCluster,
  method: string,
  path: string,
  opts: { body?: unknown; contentType?: string; token?: string | null; accept?: string } = {},
): Promise<RawResponse> {
  const ca = cluster.caPem;
  const headers: Record<string, string> = { Accept: opts.accept ?? 'application/json' };
  const token = opts.token === undefined ? cluster.token : opts.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  if (body !== undefined) {
    headers['Content-Type'] = opts.contentType ?? 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, cluster.apiServerUrl), { method, headers, ca }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls until `check` returns a value (not undefined/false) or the time runs out. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
