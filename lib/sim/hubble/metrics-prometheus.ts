// prom/prometheus in the embedded cluster: the machine's real `prometheus` binary, run with the pod's mounted scrape
// config. Pod addresses are virtual, so the cilium agents' Kubernetes discovery becomes a file of their real
// 127.0.0.1 metrics addresses (kept current as agents restart), labelled as discovery would label them; the server
// is served as the pod's port.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { findPrometheus, installHint } from '../../metrics/prometheus-binary.ts';
import type { ContainerContext, ContainerProcess, ImageHandler } from '../runtime/images.ts';
import type { SimHubble } from './hub.ts';

/** The job of the lab's scrape config that discovers the cilium agents (manifests/monitoring/prometheus.yaml). */
export const agentJob = 'hubble-metrics';

function argv(ctx: ContainerContext): string[] {
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  return [...list(ctx.container.command), ...list(ctx.container.args)].filter((a) => a !== 'prometheus' && a !== '/bin/prometheus');
}

function flagValue(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${name}`) return args[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

function withoutFlags(args: string[], names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = names.find((n) => a === `--${n}` || a.startsWith(`--${n}=`));
    if (!name) out.push(a);
    else if (a === `--${name}`) i++;
  }
  return out;
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * The pod's config with Kubernetes discovery replaced: the agents' job reads `targetsFile`; other jobs that discover
 * through the API (Relay's) are left out, as the sim's Relay serves no metrics. Returns the config and what it dropped.
 */
export function simScrapeConfig(config: Record<string, any>, targetsFile: string): { config: Record<string, any>; dropped: string[] } {
  const dropped: string[] = [];
  const jobs = (Array.isArray(config['scrape_configs']) ? config['scrape_configs'] : []) as Record<string, any>[];
  const kept = jobs.flatMap((job) => {
    if (!job['kubernetes_sd_configs']) return [job];
    if (job['job_name'] !== agentJob) {
      dropped.push(String(job['job_name']));
      return [];
    }
    const { kubernetes_sd_configs: _sd, relabel_configs: _relabel, ...rest } = job;
    return [{ ...rest, file_sd_configs: [{ files: [targetsFile], refresh_interval: '1s' }] }];
  });
  return { config: { ...config, scrape_configs: kept }, dropped };
}

/** The agents as file_sd targets, with the labels the lab's relabelling gives them on a real cluster. */
function targets(hub: SimHubble): string {
  return JSON.stringify(
    hub.metricsEndpoints().map((e) => ({ targets: [e.address], labels: { instance: `${e.podIP}:${e.port}`, node: e.node } })),
    null,
    1,
  );
}

export function prometheusImage(hub: SimHubble, opts: { binary?: () => string | undefined } = {}): ImageHandler {
  return async (ctx): Promise<ContainerProcess> => {
    const binary = (opts.binary ?? findPrometheus)();
    if (!binary) {
      ctx.log(`prometheus: no prometheus binary on this machine: ${installHint}`);
      return { exited: Promise.resolve(1), stop() {} };
    }
    const args = argv(ctx);
    const configPath = flagValue(args, 'config.file') ?? '/etc/prometheus/prometheus.yml';
    let config: Record<string, any>;
    try {
      config = (parseYaml(readFileSync(ctx.path(configPath), 'utf8')) ?? {}) as Record<string, any>;
    } catch (err) {
      ctx.log(`ts=${new Date().toISOString()} level=error msg="Error loading config" file=${configPath} err="${(err as Error).message}"`);
      return { exited: Promise.resolve(1), stop() {} };
    }
    const dir = await mkdtemp(join(tmpdir(), 'hubble-lab-prometheus-'));
    const targetsFile = join(dir, 'agents.json');
    const { config: simConfig, dropped } = simScrapeConfig(config, targetsFile);
    for (const job of dropped) ctx.log(`hubble-lab sim: scrape job ${job} left out: the sim's pods serve no metrics to it`);
    let written = targets(hub);
    await writeFile(targetsFile, written);
    await writeFile(join(dir, 'prometheus.yml'), stringify(simConfig));
    const listen = flagValue(args, 'web.listen-address') ?? ':9090';
    const podPort = Number(listen.slice(listen.lastIndexOf(':') + 1)) || 9090;
    const realPort = await freePort();
    const child = spawn(
      binary,
      [
        ...withoutFlags(args, ['config.file', 'storage.tsdb.path', 'web.listen-address']),
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${realPort}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
    );
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const l of lines) if (l) ctx.log(l);
      });
    }
    const exited = new Promise<number>((resolve) => {
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
      child.on('error', (err) => {
        ctx.log(`prometheus: ${err.message}`);
        resolve(127);
      });
    });
    const withdraw = ctx.net.expose(podPort, realPort);
    // Agents come and go (a rollout restart): the file follows them, Prometheus rereads it within a second.
    const refresh = setInterval(() => {
      const now = targets(hub);
      if (now === written) return;
      written = now;
      const tmp = `${targetsFile}.tmp`;
      void writeFile(tmp, now).then(
        () => rename(tmp, targetsFile),
        () => {},
      );
    }, 1000);
    refresh.unref();
    let stopping: Promise<void> | undefined;
    return {
      exited: exited.then(async (code) => {
        clearInterval(refresh);
        withdraw();
        await rm(dir, { recursive: true, force: true });
        return code;
      }),
      stop() {
        stopping ??= (async () => {
          clearInterval(refresh);
          withdraw();
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(timer);
          }
          await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  };
}
