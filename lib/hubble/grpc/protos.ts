// Loads our Hubble protos (proto/*.proto) once, with proto field names kept as written (jsonpb uses them).
//
// Why protobufjs reflection and not @grpc/proto-loader: proto-loader decodes through protobufjs' toObject,
// which builds an intermediate object (Timestamps as {seconds, nanos}, wrappers as {value}) that we would then
// walk a second time to reach the jsonpb shape. Decoding with protobufjs directly and converting once is
// about 2× faster on our flow mix (bench/grpc.bench.ts measures both), and gives us the serializers grpc-js
// needs without a second copy of the schema.
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const protoDir = fileURLToPath(new URL('../../../proto/', import.meta.url));

const files = ['flow.proto', 'relay.proto', 'observer.proto', 'peer.proto', 'health.proto'];

function load(): protobuf.Root {
  const root = new protobuf.Root();
  // google/protobuf/* come from protobufjs' bundled well-known types; everything else from proto/.
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(protoDir, target));
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

export const hubbleRoot: protobuf.Root = load();

export function messageType(name: string): protobuf.Type {
  return hubbleRoot.lookupType(name);
}
