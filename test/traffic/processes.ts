// Test helpers: run the demo agents and the traffic generator as real child processes on 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const agentPath = fileURLToPath(new URL('../../lib/traffic/agent.mjs', import.meta.url));
export const generatorPath = fileURLToPath(new URL('../../lib/traffic/generator.mjs', import.meta.url));

export interface RunningAgent {
  url: string;
  port: number;
  child: ChildProcess;
  /** Every stdout line so far (the agent's JSON request log). */
  lines: string[];
  /** Parsed request-log entries (lines with a method). */
  requests(): Array<{ role: string; method: string; path: string; status: number; ms: number; aborted?: boolean }>;
  stop(): Promise<number | null>;
}

/** The agent's request log once it holds at least `count` entries (a line is written just after the answer). */
export async function loggedRequests(agent: RunningAgent, count: number, withinMs = 2000) {
  const deadline = Date.now() + withinMs;
  while (agent.requests().length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return agent.requests();
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Children still running when the test process exits are killed with it, whatever ended the test. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Nothing from the parent's environment that could point the programs at a real cluster. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, ...env };
}

function waitExit(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Starts agent.mjs with the role (env AGENT_ROLE, unless empty) and env; resolves once it logs its port. */
export function startAgent(role: string, env: Record<string, string> = {}, args: string[] = []): Promise<RunningAgent> {
  const child = track(
    spawn(process.execPath, [agentPath, ...args], {
      env: cleanEnv({ ...(role ? { AGENT_ROLE: role } : {}), PORT: '0', HOST: '127.0.0.1', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agent ${role} did not start within 5 s: ${stderr}`));
    }, 5000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agent ${role} exited with ${code}: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      let entry: { msg?: string; port?: number };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.msg !== 'listening' || entry.port === undefined) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const port = entry.port;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        child,
        lines,
        requests: () => lines.map((l) => JSON.parse(l)).filter((e) => e.method !== undefined),
        stop: () => {
          child.kill('SIGTERM');
          return waitExit(child, 5000);
        },
      });
    });
  });
}

/** Small latencies and poll intervals so a workflow takes tens of milliseconds, each hop still slower than the one before it. */
export const quickAgents = {
  llm: { LLM_LATENCY_MS: '10', LLM_LATENCY_SIGMA: '0.3', LLM_SEED: '1' },
  document: { DOCUMENT_INGEST_MS: '2-3', DOCUMENT_LOOKUP_MS: '1-2' },
  coordinator: { POLL_INTERVAL_MS: '5-10' },
};

/** The three agents wired to each other as the Services would wire them; env per role is added to quickAgents'. */
export async function startWorkflow(env: { llm?: Record<string, string>; document?: Record<string, string>; coordinator?: Record<string, string> } = {}) {
  const llm = await startAgent('llm', { ...quickAgents.llm, ...env.llm });
  const document = await startAgent('document', { LLM_URL: llm.url, ...quickAgents.document, ...env.document });
  const coordinator = await startAgent('coordinator', { DOCUMENT_URL: document.url, ...quickAgents.coordinator, ...env.coordinator });
  return {
    llm,
    document,
    coordinator,
    urls: { COORDINATOR_URL: coordinator.url, DOCUMENT_URL: document.url, LLM_URL: llm.url },
    stop: () => Promise.all([coordinator.stop(), document.stop(), llm.stop()]),
  };
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end (killed after `limitMs`); `onStart` gets the child, e.g. to signal it. */
export function runNode(script: string, args: string[], env: Record<string, string>, limitMs = 20_000, onStart?: (c: ChildProcess) => void): Promise<Finished> {
  const child = track(spawn(process.execPath, [script, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  onStart?.(child);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A JSON HTTP call from the test, with a deadline. */
export async function request(
  url: string,
  method: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<{ status: number; json: any; headers: Headers; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers, ms: performance.now() - started };
}

/**
 * A Service on 127.0.0.1: each new connection goes to the next backend in turn, as a ClusterIP balances
 * connections (not requests). `connections` counts them per backend.
 */
export async function startBalancer(backends: RunningAgent[]) {
  let next = 0;
  const connections = backends.map(() => 0);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const i = next++ % backends.length;
    connections[i]!++;
    const upstream = net.connect(backends[i]!.port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** GET /api/v1/tasks/{id} until the task is no longer pending, at most `maxPolls` times. */
export async function waitForTask(coordinatorUrl: string, taskId: string, maxPolls = 200, intervalMs = 10) {
  for (let i = 0; i < maxPolls; i++) {
    const answer = await request(`${coordinatorUrl}/api/v1/tasks/${taskId}`, 'GET');
    if (answer.status !== 200 || answer.json.status !== 'pending') return answer;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`task ${taskId} still pending after ${maxPolls} polls`);
}

/** Median of the server-side times the agent logged for requests matching `filter`, skipping the first `skip` requests. */
export function medianServerMs(agent: RunningAgent, filter: (r: { method: string; path: string }) => boolean, skip = 0): number {
  const times = agent
    .requests()
    .slice(skip)
    .filter(filter)
    .map((r) => r.ms)
    .sort((a, b) => a - b);
  if (times.length === 0) throw new Error(`no matching request in the log of ${agent.url}`);
  return times[Math.ceil(times.length / 2) - 1]!;
}
