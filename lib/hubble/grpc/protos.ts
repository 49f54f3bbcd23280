// Loads our Hubble protos (proto/*.proto) once, with proto field names kept as written (jsonpb uses them).
//
// protobufjs reflection rather than @grpc/proto-loader: the schema drives our own one-pass decoder
// (decode.ts) and the service definitions (services.ts). proto-loader's deserializer goes through
// protobufjs' toObject, leaving Timestamps as {seconds, nanos} and wrappers as {value} for a second walk;
// bench/grpc.bench.ts measures it as the anchor (ours decodes the same bytes in about half the time).
import protobuf from 'protobufjs';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const protoDir = fileURLToPath(new URL('../../../proto/', import.meta.url));
/**
 * The same schema as protobufjs' JSON descriptor, which the build writes beside the compiled module (bin/build.mjs):
 * reading it takes about a third of the time parsing the .proto files does, at every start of the command.
 */
export const descriptorFile = new URL('./protos.json', import.meta.url);

const files = ['flow.proto', 'relay.proto', 'observer.proto', 'peer.proto', 'health.proto'];

function load(): protobuf.Root {
  if (existsSync(descriptorFile)) {
    const root = protobuf.Root.fromJSON(JSON.parse(readFileSync(descriptorFile, 'utf8')) as protobuf.INamespace);
    root.resolveAll();
    return root;
  }
  return loadProtoFiles();
}

/** Our protos parsed from proto/. */
export function loadProtoFiles(): protobuf.Root {
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
