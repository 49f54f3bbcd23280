// Test helper: runs a Node script as a process of a pod (with the network preload), collecting its output.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PodNetwork } from '../../../lib/sim/net/datapath.ts';
import { fileTempDir } from '../../fixtures/temp-dir.ts';

export interface PodProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves when a line matching re has been printed; rejects after timeoutMs with the output so far. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

const dir = fileTempDir('hubble-lab-net-test-');
let n = 0;

/** Writes `source` (an ES module) to a file and runs it in `pod`; args become process.argv[2…]. */
export function runInPod(pod: PodNetwork, source: string, args: string[] = []): PodProcess {
  const file = join(dir, `script-${++n}.mjs`);
  writeFileSync(file, source);
  const child = spawn(process.execPath, [...pod.preloadArgs(), file, ...args], {
    env: { PATH: process.env.PATH ?? '', ...pod.processEnv() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    output: () => out,
    exited,
    waitFor(re, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(out);
          if (!m) return;
          cleanup();
          resolve(m);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${re} in output:\n${out}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
