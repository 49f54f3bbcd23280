// What a Cilium agent's Hubble parser removes from L7 flows before it stores them, per cilium-config's
// hubble-redact-* keys: URL query strings and fragments, URL passwords, HTTP header values, Kafka API keys.
import type { Flow, GetFlowsResponse, HTTPHeader } from '../../flows/types.ts';

/** Cilium's defaults.SensitiveValueRedacted. */
export const REDACTED = 'HUBBLE_REDACTED';

export interface HubbleRedactConfig {
  /** hubble-redact-enabled: nothing is redacted without it, whatever the other keys say. */
  enabled: boolean;
  /** hubble-redact-http-urlquery: drop the query string and fragment of HTTP URLs. */
  httpUrlQuery: boolean;
  /** hubble-redact-http-userinfo (default true): replace the password in `user:password@` of HTTP URLs. */
  httpUserInfo: boolean;
  /** hubble-redact-kafka-apikey. */
  kafkaApiKey: boolean;
  /** hubble-redact-http-headers-allow / -deny: lower-case header names; at most one of the two is set. */
  headersAllow: ReadonlySet<string>;
  headersDeny: ReadonlySet<string>;
}

export const noRedaction: HubbleRedactConfig = {
  enabled: false,
  httpUrlQuery: false,
  httpUserInfo: true,
  kafkaApiKey: false,
  headersAllow: new Set(),
  headersDeny: new Set(),
};

const USERINFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#@]*)@/;

/** filteredURL: the URL with its password and (when asked) its query and fragment taken out; the rest unchanged. */
export function redactUrl(url: string, config: HubbleRedactConfig): string {
  if (!config.enabled) return url;
  let out = url;
  if (config.httpUserInfo) {
    const m = USERINFO.exec(out);
    const colon = m ? m[2]!.indexOf(':') : -1;
    if (m && colon >= 0) out = `${m[1]}${m[2]!.slice(0, colon)}:${REDACTED}@${out.slice(m[0].length)}`;
  }
  if (config.httpUrlQuery) {
    const cut = out.search(/[?#]/);
    if (cut >= 0) out = out.slice(0, cut);
  }
  return out;
}

/**
 * filterHeader: with redaction on and no list, every value is redacted; an allowed name keeps its value, a denied
 * one loses it, and a name in neither list loses it only when an allow list exists.
 */
export function redactHeader(key: string, value: string, config: HubbleRedactConfig): string {
  if (!config.enabled) return value;
  const { headersAllow: allow, headersDeny: deny } = config;
  if (allow.size === 0 && deny.size === 0) return REDACTED;
  const name = key.toLowerCase();
  if (allow.has(name)) return value;
  if (deny.has(name)) return REDACTED;
  return allow.size > 0 ? REDACTED : value;
}

/** The flow as the agent stores it: the same object when nothing needs redacting, else a redacted copy. */
export function redactFlow(flow: Flow, config: HubbleRedactConfig): Flow {
  const l7 = flow.l7;
  if (!config.enabled || !l7 || (!l7.http && !l7.kafka)) return flow;
  const out: Flow = { ...flow, l7: { ...l7 } };
  if (l7.http) {
    const http = { ...l7.http };
    if (http.url !== undefined) {
      const url = redactUrl(http.url, config);
      // The summary quotes the URL (`HTTP/1.1 GET http://…`): it must not keep what the URL lost.
      if (url !== http.url && typeof out.Summary === 'string') out.Summary = out.Summary.split(http.url).join(url);
      http.url = url;
    }
    if (http.headers) http.headers = http.headers.map((h: HTTPHeader) => ({ ...h, value: redactHeader(h.key ?? '', h.value ?? '', config) }));
    out.l7!.http = http;
  }
  if (l7.kafka && config.kafkaApiKey && typeof l7.kafka.api_key === 'string') out.l7!.kafka = { ...l7.kafka, api_key: REDACTED };
  return out;
}

export function redactResponse(response: GetFlowsResponse, config: HubbleRedactConfig): GetFlowsResponse {
  if (!response.flow) return response;
  const flow = redactFlow(response.flow, config);
  return flow === response.flow ? response : { ...response, flow };
}
