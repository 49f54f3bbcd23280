// Validation of the fields whose mistakes users make and clients report: names, selectors, containers, immutable fields.
import { fieldInvalid, fieldRequired, fieldUnsupported, invalid, type StatusCause } from './errors.ts';
import type { ResourceInfo } from './resources.ts';
import { selectorMatcher } from './selectors.ts';
import type { KObject } from './store.ts';
import { deepEqual } from './json.ts';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkName(info: ResourceInfo, name: string, causes: StatusCause[]): void {
  if (info.resource === 'namespaces') {
    if (!DNS1123_LABEL.test(name) || name.length > 63) {
      causes.push(
        fieldInvalid(
          'metadata.name',
          name,
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        ),
      );
    }
  } else if (info.resource === 'services') {
    if (!DNS1035_LABEL.test(name) || name.length > 63) {
      causes.push(
        fieldInvalid(
          'metadata.name',
          name,
          "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        ),
      );
    }
  } else if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    causes.push(
      fieldInvalid(
        'metadata.name',
        name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    );
  }
}

function checkLabels(path: string, labels: Record<string, unknown> | undefined, causes: StatusCause[]): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) {
      causes.push(
        fieldInvalid(
          `${path}`,
          v,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
    }
    if (k === '') causes.push(fieldInvalid(path, k, 'name part must be non-empty'));
  }
}

function checkPodSpec(path: string, spec: any, causes: StatusCause[]): void {
  const containers = spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push(fieldRequired(`${path}.containers`));
    return;
  }
  const names = new Set<string>();
  containers.forEach((c: any, i: number) => {
    const at = `${path}.containers[${i}]`;
    if (!c?.name) causes.push(fieldRequired(`${at}.name`));
    else if (names.has(c.name)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: "${c.name}"`, field: `${at}.name` });
    else names.add(c.name);
    if (!c?.image) causes.push(fieldRequired(`${at}.image`));
    (c?.ports ?? []).forEach((p: any, j: number) => {
      const n = p?.containerPort;
      if (!Number.isInteger(n) || n < 1 || n > 65535) {
        causes.push(fieldInvalid(`${at}.ports[${j}].containerPort`, n, 'must be between 1 and 65535, inclusive'));
      }
    });
  });
}

function checkWorkloadSelector(kind: string, spec: any, causes: StatusCause[]): void {
  if (!spec?.selector) {
    causes.push(fieldRequired('spec.selector'));
    return;
  }
  const labels = spec.template?.metadata?.labels;
  if (!selectorMatcher(spec.selector)(labels)) {
    causes.push(fieldInvalid('spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`'));
  }
  if (Object.keys(spec.selector.matchLabels ?? {}).length === 0 && (spec.selector.matchExpressions ?? []).length === 0) {
    causes.push(fieldInvalid('spec.selector', spec.selector, `empty selector is invalid for ${kind.toLowerCase()}`));
  }
}

function immutable(field: string, before: unknown, after: unknown, causes: StatusCause[]): void {
  if (before !== undefined && !deepEqual(before, after)) causes.push(fieldInvalid(field, after, 'field is immutable'));
}

/** Throws 422 Invalid with every problem found. `old` is set for updates. */
export function validate(info: ResourceInfo, obj: KObject, old?: KObject): void {
  const causes: StatusCause[] = [];
  const name = obj.metadata?.name ?? '';
  if (!name) causes.push(fieldRequired('metadata.name'));
  else checkName(info, name, causes);
  checkLabels('metadata.labels', obj.metadata?.labels, causes);
  const spec = obj.spec;
  switch (`${info.group}/${info.resource}`) {
    case '/pods':
      checkPodSpec('spec', spec, causes);
      if (old) {
        const strip = (s: any) => ({
          ...s,
          containers: (s?.containers ?? []).map((c: any) => ({ ...c, image: '' })),
          activeDeadlineSeconds: 0,
          tolerations: [],
        });
        if (!deepEqual(strip(old.spec), strip(spec))) {
          causes.push({
            reason: 'FieldValueForbidden',
            message:
              'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
            field: 'spec',
          });
        }
      }
      break;
    case '/services': {
      const type = spec?.type ?? 'ClusterIP';
      if (type !== 'ExternalName' && spec?.clusterIP !== 'None' && !(spec?.ports?.length > 0)) causes.push(fieldRequired('spec.ports'));
      (spec?.ports ?? []).forEach((p: any, i: number) => {
        if (!Number.isInteger(p?.port) || p.port < 1 || p.port > 65535) {
          causes.push(fieldInvalid(`spec.ports[${i}].port`, p?.port, 'must be between 1 and 65535, inclusive'));
        }
        if (spec.ports.length > 1 && !p?.name) causes.push(fieldRequired(`spec.ports[${i}].name`));
      });
      if (old) immutable('spec.clusterIPs[0]', old.spec?.clusterIP, spec?.clusterIP ?? old.spec?.clusterIP, causes);
      break;
    }
    case 'apps/deployments':
    case 'apps/replicasets':
    case 'apps/daemonsets':
      // apps/validation's ValidateNonnegativeField; the type was checked when the body was decoded.
      if (info.resource !== 'daemonsets' && typeof spec?.replicas === 'number' && spec.replicas < 0) {
        causes.push(fieldInvalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
      }
      checkWorkloadSelector(info.kind, spec, causes);
      checkPodSpec('spec.template.spec', spec?.template?.spec, causes);
      checkLabels('spec.template.metadata.labels', spec?.template?.metadata?.labels, causes);
      if (old) immutable('spec.selector', old.spec?.selector, spec?.selector, causes);
      if (spec?.template?.spec?.restartPolicy && spec.template.spec.restartPolicy !== 'Always') {
        causes.push(fieldUnsupported('spec.template.spec.restartPolicy', spec.template.spec.restartPolicy, ['Always']));
      }
      break;
    case 'batch/jobs': {
      for (const f of ['parallelism', 'completions', 'backoffLimit']) {
        if (typeof spec?.[f] === 'number' && spec[f] < 0) causes.push(fieldInvalid(`spec.${f}`, spec[f], 'must be greater than or equal to 0'));
      }
      checkPodSpec('spec.template.spec', spec?.template?.spec, causes);
      const rp = spec?.template?.spec?.restartPolicy;
      if (rp === undefined)
        causes.push({ ...fieldRequired('spec.template.spec.restartPolicy'), message: 'Required value: valid values: "OnFailure", "Never"' });
      else if (rp !== 'OnFailure' && rp !== 'Never') causes.push(fieldUnsupported('spec.template.spec.restartPolicy', rp, ['OnFailure', 'Never']));
      if (old) {
        immutable('spec.selector', old.spec?.selector, spec?.selector, causes);
        immutable('spec.template', old.spec?.template, spec?.template, causes);
        immutable('spec.completions', old.spec?.completions, spec?.completions, causes);
      }
      break;
    }
  }
  if (causes.length) throw invalid(info.kind, info.group, name, causes);
}

/** A Scale written to a scale subresource (autoscaling's ValidateScale), before it reaches the workload. */
export function validateScale(name: string, scale: any): void {
  const replicas = scale?.spec?.replicas;
  if (typeof replicas === 'number' && replicas < 0) {
    throw invalid('Scale', 'autoscaling', name, [fieldInvalid('spec.replicas', replicas, 'must be greater than or equal to 0')]);
  }
}
