// The API server's request handler: authentication, routing of discovery and resource paths, and every verb.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { coreVersions, group, groupList, resourceList, SIM_VERSION } from './discovery.ts';
import { badRequest, invalid, methodNotAllowed, pathNotFound, success, unauthorized, unsupportedMediaType } from './errors.ts';
import { parseBody, readBody, sendError, sendJson } from './http.ts';
import { clone, isPlainObject } from './json.ts';
import { jsonPatch } from './patch/jsonpatch.ts';
import { mergePatch } from './patch/merge.ts';
import { strategicMergePatch } from './patch/strategic.ts';
import type { DeleteOptions, Registry } from './registry.ts';
import { apiVersionOf, findResource, type ResourceInfo } from './resources.ts';
import { fieldMatcher, labelMatcher, selectorString } from './selectors.ts';
import { MUTATING_VERBS, type Stats } from './stats.ts';
import type { KObject, Store } from './store.ts';
import { toTable, wantsTable } from './table.ts';
import { serveWatch } from './watch.ts';
import { checkQuery, decodeSegment } from './url.ts';
import { checkAppliedTypes, checkBodyTypes, checkPatchedTypes, checkScaleTypes } from './decode.ts';
import { validateScale } from './validate.ts';
import { servePodLog, type PodLogSource } from './logs.ts';

export interface HandlerContext {
  store: Store;
  registry: Registry;
  stats: Stats;
  token: string;
  /** The URL clients use, for discovery's serverAddressByClientCIDRs. */
  address: () => string;
  logs: PodLogSource;
}

/** A request for a resource, parsed from its path. */
export interface ResourceRequest {
  info: ResourceInfo;
  namespace: string;
  name: string;
  subresource: string;
  watchPath: boolean;
}

const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Compares in constant time (over equal-length digests), so response timing tells nothing about the token. */
export function authorized(req: IncomingMessage, token: string): boolean {
  return timingSafeEqual(digest(req.headers.authorization ?? ''), digest(`Bearer ${token}`));
}

/** Parses `/api/v1/...` and `/apis/{group}/{version}/...` resource paths; undefined when the path is not one. */
export function parseResourcePath(pathname: string): ResourceRequest | undefined | 'unknown' {
  const parts = pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeSegment);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const [resource, name = '', subresource = '', ...extra] = rest;
  if (!resource || extra.length) return 'unknown';
  const info = findResource(group, version, resource);
  if (!info) return 'unknown';
  if (!info.namespaced && namespace) return 'unknown';
  if (subresource && !info.subresources.includes(subresource)) return 'unknown';
  return { info, namespace, name, subresource, watchPath };
}

/** The Kubernetes verb of a request, as audit logs and RBAC name it. */
export function verbOf(method: string, r: ResourceRequest, query: URLSearchParams): string {
  const watch = r.watchPath || query.get('watch') === 'true' || query.get('watch') === '1';
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch) return 'watch';
      return r.name ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return r.name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function managerFrom(query: URLSearchParams, req: IncomingMessage): string {
  const m = query.get('fieldManager');
  if (m) return m;
  const ua = req.headers['user-agent'] ?? 'unknown';
  return ua.split('/')[0] || 'unknown';
}

function bool(v: string | null): boolean {
  return v === 'true' || v === '1';
}

function listOf(ctx: HandlerContext, r: ResourceRequest, query: URLSearchParams): KObject[] {
  const labels = labelMatcher(query.get('labelSelector') ?? undefined);
  const fields = fieldMatcher(query.get('fieldSelector') ?? undefined, r.info.fieldSelectors);
  return ctx.store.list(r.info, r.namespace || undefined).filter((o) => labels(o.metadata.labels) && fields(o));
}

function render(req: IncomingMessage, info: ResourceInfo, obj: KObject): unknown {
  return wantsTable(req.headers.accept) ? toTable(info, [obj], obj.metadata.resourceVersion ?? '') : obj;
}

function scaleOf(obj: KObject): Record<string, unknown> {
  const m = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0, selector: selectorString(obj.spec?.selector) },
  };
}

function decodePatch(type: string, live: unknown, patch: unknown, info: ResourceInfo): unknown {
  switch (type) {
    case 'application/json-patch+json':
      return jsonPatch(live, patch);
    case 'application/merge-patch+json':
      if (!isPlainObject(patch)) throw badRequest('merge patch must be a JSON object');
      return mergePatch(live, patch);
    case 'application/strategic-merge-patch+json':
      if (info.group === 'cilium.io')
        throw unsupportedMediaType(
          type,
          PATCH_TYPES.filter((t) => !t.includes('strategic')),
        );
      return strategicMergePatch(live, patch);
    default:
      throw unsupportedMediaType(type, PATCH_TYPES);
  }
}

function deleteOptions(query: URLSearchParams, body: unknown): DeleteOptions {
  const b = isPlainObject(body) ? body : {};
  const opts: DeleteOptions = {};
  const policy = query.get('propagationPolicy') ?? b.propagationPolicy;
  if (policy) {
    if (!['Foreground', 'Background', 'Orphan'].includes(policy)) throw badRequest(`unsupported propagationPolicy "${policy}"`);
    opts.propagationPolicy = policy;
  } else if (bool(query.get('orphanDependents')) || b.orphanDependents === true) opts.propagationPolicy = 'Orphan';
  const grace = query.get('gracePeriodSeconds') ?? b.gracePeriodSeconds;
  if (grace !== undefined && grace !== null) opts.gracePeriodSeconds = Number(grace);
  if (b.preconditions) opts.preconditions = b.preconditions;
  if (query.get('dryRun') === 'All' || (Array.isArray(b.dryRun) && b.dryRun.includes('All'))) opts.dryRun = true;
  return opts;
}

async function handleResource(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: HandlerContext,
  r: ResourceRequest,
  query: URLSearchParams,
  verb: string,
): Promise<void> {
  const { info, namespace, name, subresource } = r;
  const { registry, store } = ctx;
  if (!info.verbs.includes(verb)) throw methodNotAllowed();
  if (info.namespaced && !namespace && name) throw pathNotFound();
  if (verb === 'create' && name) throw methodNotAllowed();
  const dryRun = query.get('dryRun') === 'All';
  const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim();
  const body = async () => {
    if (/protobuf|cbor/.test(contentType)) throw unsupportedMediaType(contentType, ['application/json', 'application/yaml']);
    return parseBody(await readBody(req), contentType);
  };

  if (info.virtual) {
    const review = (await body()) as Record<string, any>;
    sendJson(res, 201, {
      kind: info.kind,
      apiVersion: apiVersionOf(info),
      metadata: { creationTimestamp: null },
      spec: review?.spec ?? {},
      status: { allowed: true, reason: 'the embedded cluster allows every request of its token' },
    });
    return;
  }

  switch (verb) {
    case 'list': {
      const items = listOf(ctx, r, query);
      const rv = String(store.resourceVersion);
      if (wantsTable(req.headers.accept)) return sendJson(res, 200, toTable(info, items, rv));
      const limit = Number(query.get('limit') ?? 0);
      const cont = query.get('continue');
      let page = items;
      const metadata: Record<string, unknown> = { resourceVersion: rv };
      if (cont) {
        const after = Buffer.from(cont, 'base64url').toString();
        page = page.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > after);
      }
      if (limit > 0 && page.length > limit) {
        const last = page[limit - 1]!;
        metadata.continue = Buffer.from(`${last.metadata.namespace ?? ''}/${last.metadata.name}`).toString('base64url');
        metadata.remainingItemCount = page.length - limit;
        page = page.slice(0, limit);
      }
      return sendJson(res, 200, { kind: `${info.kind}List`, apiVersion: apiVersionOf(info), metadata, items: page });
    }
    case 'watch': {
      const timeout = query.get('timeoutSeconds');
      const sendInitial = query.get('sendInitialEvents');
      const fields = fieldMatcher(query.get('fieldSelector') ?? undefined, info.fieldSelectors);
      serveWatch(req, res, store, info, {
        namespace,
        resourceVersion: query.get('resourceVersion') ?? undefined,
        labels: labelMatcher(query.get('labelSelector') ?? undefined),
        fields: name ? (o) => o.metadata.name === name && fields(o) : fields,
        bookmarks: bool(query.get('allowWatchBookmarks')),
        sendInitialEvents: sendInitial === null ? undefined : bool(sendInitial),
        timeoutSeconds: timeout === null ? undefined : Number(timeout),
        render: (o) => render(req, info, o),
      });
      return;
    }
    case 'get': {
      if (subresource === 'log') return servePodLog(req, res, registry.get(info, namespace, name), query, ctx.logs);
      const obj = registry.get(info, namespace, name);
      if (subresource === 'scale') return sendJson(res, 200, scaleOf(obj));
      return sendJson(res, 200, render(req, info, obj));
    }
    case 'create': {
      if (name) throw methodNotAllowed();
      const obj = (await body()) as KObject;
      if (!isPlainObject(obj)) throw badRequest('the request body must be an object');
      checkKind(info, obj);
      checkBodyTypes(info, obj);
      const created = registry.create(info, namespace, obj, { manager: managerFrom(query, req), dryRun });
      return sendJson(res, 201, created);
    }
    case 'update': {
      const obj = (await body()) as KObject;
      if (!isPlainObject(obj)) throw badRequest('the request body must be an object');
      const live = registry.get(info, namespace, name);
      if (subresource === 'scale') {
        checkScaleTypes(obj);
        validateScale(name, obj);
        const updated = registry.mutate(info, namespace, name, (o) => void (o.spec.replicas = (obj as any).spec?.replicas ?? 0), {
          manager: managerFrom(query, req),
          dryRun,
        });
        return sendJson(res, 200, scaleOf(updated));
      }
      checkKind(info, obj);
      checkBodyTypes(info, obj);
      const expectedVersion = obj.metadata?.resourceVersion;
      const updated = registry.commit(info, live, obj, {
        manager: managerFrom(query, req),
        dryRun,
        ...(expectedVersion ? { expectedVersion } : {}),
        ...(subresource === 'status' ? { subresource: 'status' as const } : {}),
      });
      return sendJson(res, 200, updated);
    }
    case 'patch': {
      if (!PATCH_TYPES.includes(contentType)) throw unsupportedMediaType(contentType, PATCH_TYPES);
      const patch = await body();
      if (contentType === 'application/apply-patch+yaml') {
        const manager = query.get('fieldManager');
        if (!manager) {
          throw invalid('PatchOptions', 'meta.k8s.io', '', [
            { reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' },
          ]);
        }
        if (!isPlainObject(patch)) throw badRequest('the applied configuration must be an object');
        checkAppliedTypes(info, patch, namespace, name);
        const { object, created } = registry.apply(info, namespace, name, patch as KObject, {
          manager,
          force: bool(query.get('force')),
          dryRun,
          ...(subresource === 'status' ? { subresource: 'status' as const } : {}),
        });
        return sendJson(res, created ? 201 : 200, object);
      }
      const live = registry.get(info, namespace, name);
      if (subresource === 'scale') {
        const scale = decodePatch(contentType, scaleOf(live), patch, info) as any;
        checkPatchedTypes(info, scale, patch, contentType, true);
        validateScale(name, scale);
        const updated = registry.mutate(info, namespace, name, (o) => void (o.spec.replicas = scale?.spec?.replicas ?? 0), {
          manager: managerFrom(query, req),
          dryRun,
        });
        return sendJson(res, 200, scaleOf(updated));
      }
      const patched = decodePatch(contentType, clone(live), patch, info) as KObject;
      if (!isPlainObject(patched)) throw badRequest('the patch did not produce an object');
      checkPatchedTypes(info, patched, patch, contentType);
      const expectedVersion = patched.metadata?.resourceVersion;
      const updated = registry.commit(info, live, patched, {
        manager: managerFrom(query, req),
        dryRun,
        ...(expectedVersion ? { expectedVersion } : {}),
        ...(subresource === 'status' ? { subresource: 'status' as const } : {}),
      });
      return sendJson(res, 200, updated);
    }
    case 'delete': {
      const text = await readBody(req);
      const opts = deleteOptions(query, text.trim() ? parseBody(text, contentType) : undefined);
      const { object, deleted } = registry.delete(info, namespace, name, opts);
      if (deleted && info.resource !== 'pods') {
        const details = { name, kind: info.resource, uid: object.metadata.uid ?? '', ...(info.group ? { group: info.group } : {}) };
        return sendJson(res, 200, success(details));
      }
      return sendJson(res, 200, object);
    }
    case 'deletecollection': {
      const text = await readBody(req);
      const opts = deleteOptions(query, text.trim() ? parseBody(text, contentType) : undefined);
      for (const o of listOf(ctx, r, query)) registry.delete(info, o.metadata.namespace ?? '', o.metadata.name!, opts);
      return sendJson(res, 200, success());
    }
    default:
      throw methodNotAllowed();
  }
}

function checkKind(info: ResourceInfo, obj: KObject): void {
  if (obj.kind !== undefined && obj.kind !== info.kind) {
    throw badRequest(`the object provided is unrecognized (must be of type ${info.kind}): kind ${obj.kind} does not match ${info.kind}`);
  }
}

export async function handle(req: IncomingMessage, res: ServerResponse, ctx: HandlerContext): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';
  let r: ReturnType<typeof parseResourcePath>;
  try {
    checkQuery(url.search);
    r = parseResourcePath(path);
  } catch (err) {
    ctx.stats.count(method.toLowerCase(), false);
    return sendError(res, err);
  }
  const verb = r && r !== 'unknown' ? verbOf(method, r, url.searchParams) : method === 'GET' ? 'get' : method.toLowerCase();
  // Lease writes are coordination (who runs now), not a change to what the cluster runs.
  const mutating =
    !!r && r !== 'unknown' && MUTATING_VERBS.has(verb) && !r.info.virtual && r.info.group !== 'coordination.k8s.io' && url.searchParams.get('dryRun') !== 'All';
  ctx.stats.count(verb, mutating);
  try {
    if (!authorized(req, ctx.token)) throw unauthorized();
    if (r && r !== 'unknown') return await handleResource(req, res, ctx, r, url.searchParams, verb);
    if (path === '/debug/sim/stats') return sendJson(res, 200, ctx.stats.snapshot());
    if (method !== 'GET') throw r === 'unknown' ? pathNotFound() : methodNotAllowed();
    if (r === 'unknown') throw pathNotFound();
    const parts = path.split('/').filter(Boolean);
    if (path === '/version') return sendJson(res, 200, SIM_VERSION);
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (path === '/api') return sendJson(res, 200, coreVersions(ctx.address()));
    if (path === '/apis') return sendJson(res, 200, groupList());
    if (parts[0] === 'api' && parts.length === 2) {
      const doc = resourceList('', parts[1]!);
      if (doc) return sendJson(res, 200, doc);
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const doc = group(parts[1]!);
      if (doc) return sendJson(res, 200, doc);
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const doc = resourceList(parts[1]!, parts[2]!);
      if (doc) return sendJson(res, 200, doc);
    }
    throw pathNotFound();
  } catch (err) {
    sendError(res, err);
  }
}
