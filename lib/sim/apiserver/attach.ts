// pods/attach: the client's streams joined to the container's running process (its output, and its stdin when the
// container has stdin: true), over the same protocols as exec.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RunningPod } from '../runtime/types.ts';
import { rejectUpgrade } from '../net/websocket.ts';
import { serveRemoteCommand, streamOptions } from './exec.ts';

export function handleAttach(req: IncomingMessage, socket: Duplex, head: Buffer, pod: RunningPod, spec: Record<string, any>): void {
  const url = new URL(req.url ?? '/', 'http://sim');
  const container = url.searchParams.get('container') || undefined;
  if (!pod.attach) {
    rejectUpgrade(
      socket,
      400,
      'Bad Request',
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'the pod runtime cannot attach to containers',
        reason: 'BadRequest',
        code: 400,
      }),
    );
    return;
  }
  const attach = pod.attach.bind(pod);
  const containerSpec = ((spec.containers ?? []) as Record<string, any>[]).find((c) => c.name === (container ?? spec.containers?.[0]?.name)) ?? {};
  serveRemoteCommand(req, socket, head, streamOptions(url), async (io) => {
    await attach(container, io, { stdinOnce: containerSpec.stdinOnce === true });
    return { exitCode: 0 };
  });
}
