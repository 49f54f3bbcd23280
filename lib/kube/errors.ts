// Turns Kubernetes API failures into InfraErrors that name the request and the server's own message.
import { ApiException } from '@kubernetes/client-node';
import { InfraError } from '../errors.ts';

export function apiStatusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown })?.code ?? (err as { statusCode?: unknown })?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export function isNotFound(err: unknown): boolean {
  return apiStatusCode(err) === 404;
}

function serverMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: string };
        if (parsed.message) return parsed.message;
      } catch {
        if (body.trim()) return body.trim().slice(0, 300);
      }
    } else if (body && typeof body === 'object' && 'message' in body) {
      return String((body as { message: unknown }).message);
    }
    return `HTTP ${err.code}`;
  }
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ECONNREFUSED') return 'connection refused';
  return e?.message ?? String(err);
}

/** Wraps a failed API call: `what` says what we were doing, e.g. "read ConfigMap kube-system/cilium-config". */
export function apiError(what: string, err: unknown): InfraError {
  const code = apiStatusCode(err);
  const msg = serverMessage(err);
  let hint: string | undefined;
  if (code === 401) hint = 'the credentials in the kubeconfig were refused; log in again or pick another --context';
  else if (code === 403) hint = 'the kubeconfig user lacks RBAC permission for this; `hubble-lab run preflight` lists what is needed';
  else if (code === undefined) hint = 'is the cluster reachable? check the server address in the kubeconfig';
  return new InfraError(`cannot ${what}: ${msg}${code ? ` (HTTP ${code})` : ''}`, { hint, cause: err });
}

/** Runs an API call and rethrows failures as InfraError naming `what`. */
export async function callApi<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw apiError(what, err);
  }
}
