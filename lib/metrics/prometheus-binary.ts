// Finds a real `prometheus` executable on this machine (Debian's package, or HUBBLE_LAB_PROMETHEUS), for the
// embedded cluster's prom/prometheus image and the tests that need a real Prometheus.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** How to get one, for messages that say what is missing. */
export const installHint = "install Debian's prometheus package (sudo apt-get install -y prometheus) or set HUBBLE_LAB_PROMETHEUS to a prometheus binary";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary's path, or undefined when none is installed. */
export function findPrometheus(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env['HUBBLE_LAB_PROMETHEUS'];
  if (explicit) return executable(explicit) ? explicit : undefined;
  for (const dir of (env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'prometheus');
    if (executable(candidate)) return candidate;
  }
  // Debian installs it in /usr/bin; a trimmed PATH (runuser, CI) may not list it.
  return executable('/usr/bin/prometheus') ? '/usr/bin/prometheus' : undefined;
}
