// Types for shared.mjs: the helpers the demo agents and the traffic generator share (TypeScript code imports them too).

export declare const defaultServiceUrls: { coordinator: string; document: string; llm: string };
export declare function serviceUrls(env?: Record<string, string | undefined>): { coordinator: string; document: string; llm: string };

export declare class ConfigError extends Error {}

export declare function envNumber(env: Record<string, string | undefined>, name: string, fallback: number): number;
export declare function parseRange(name: string, raw: unknown): [min: number, max: number];
export declare function parseDuration(name: string, raw: unknown): number;

/** mulberry32: the same seed gives the same floats in [0, 1) on every platform. */
export declare function seededRandom(seed: number): () => number;
export declare function uniform(random: () => number, range: readonly [number, number]): number;
export declare function logNormal(random: () => number, median: number, sigma: number, cap: number): number;
export declare function percentile(sorted: readonly number[], p: number): number | undefined;
export declare function round(ms: number): number;
export declare function sleep(ms: number, signal?: AbortSignal): Promise<void>;
export declare function failureKind(err: unknown): 'timeout' | 'aborted' | 'refused' | 'reset' | 'dns' | 'error';

export interface CallResult {
  status: number | ReturnType<typeof failureKind>;
  ok: boolean;
  ms: number;
  json?: unknown;
  error?: string;
}

export declare function callJson(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  opts?: { timeoutMs?: number; signal?: AbortSignal; userAgent?: string; fresh?: boolean },
): Promise<CallResult>;

export declare function pollUntil(
  poll: (n: number) => Promise<CallResult>,
  isReady: (result: CallResult) => boolean,
  opts: { intervalMs: readonly [number, number]; timeoutMs: number; random?: () => number; signal?: AbortSignal },
): Promise<{ outcome: 'ready' | 'error' | 'timeout' | 'aborted'; polls: number; ms: number; last: CallResult | undefined }>;

export declare function parsePollInterval(env: Record<string, string | undefined>, fallback: string): [min: number, max: number];
