// GetFlowsRequest.field_mask as Hubble's observer applies it: every path must name a Flow field (a request
// naming anything else is rejected), filters still see the whole flow, and the client receives a copy of each
// flow holding only the fields the mask names.
import protobuf from 'protobufjs';
import type { Flow, GetFlowsRequest } from '../../flows/types.ts';
import { messageType } from '../grpc/protos.ts';
import { ObserverError } from './source.ts';

/** Field name → the sub-mask under it, or `true` for the whole field. */
type MaskTree = Map<string, MaskTree | true>;

/** A protojson path segment (lowerCamel) or a proto field name → the field of `type` it names. */
function fieldOf(type: protobuf.Type, segment: string): protobuf.Field | undefined {
  return type.fields[segment] ?? type.fields[segment.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
}

function compileTree(paths: string[]): MaskTree {
  const flowType = messageType('flow.Flow');
  const root: MaskTree = new Map();
  for (const path of paths) {
    let type: protobuf.Type | undefined = flowType;
    let node: MaskTree | undefined = root;
    const segments = path.split('.');
    for (const [i, segment] of segments.entries()) {
      const field: protobuf.Field | undefined = type ? fieldOf(type, segment) : undefined;
      if (!field) throw new ObserverError('INVALID_ARGUMENT', `invalid fieldmask: ${path} does not name a field of flow.Flow`);
      field.resolve();
      type = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
      if (!node) continue; // inside a field already kept whole: only checked
      if (i === segments.length - 1) {
        node.set(field.name, true);
        continue;
      }
      let child = node.get(field.name);
      if (child === undefined) node.set(field.name, (child = new Map()));
      node = child === true ? undefined : child;
    }
  }
  return root;
}

/** A field listed whole (no sub-paths) wins over paths into it, as with protobuf's FieldMask merge. */
function copy(src: Record<string, unknown>, tree: MaskTree): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, sub] of tree) {
    const value = src[name];
    if (value === undefined) continue;
    if (sub === true || typeof value !== 'object' || value === null || Array.isArray(value)) out[name] = value;
    else {
      const inner = copy(value as Record<string, unknown>, sub);
      if (Object.keys(inner).length > 0) out[name] = inner;
    }
  }
  return out;
}

/** The request's field mask (or the older experimental one) as a Flow → masked copy; undefined without one. */
export function compileFieldMask(req: GetFlowsRequest): ((flow: Flow) => Flow) | undefined {
  const text = req.field_mask ?? req.experimental?.field_mask;
  const paths = (text ?? '').split(',').filter((p) => p !== '');
  if (paths.length === 0) return undefined;
  const tree = compileTree(paths);
  return (flow) => copy(flow as Record<string, unknown>, tree) as Flow;
}
