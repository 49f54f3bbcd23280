// Number, time and text formatting shared by the report writers.
import type { Message } from '../analysis/message.ts';

/** An integer with its thousands grouped by commas, as en-US writes it (12,345). */
export function fmtInt(n: number): string {
  // By hand: toLocaleString loads ICU's locale data on its first call, about 50 ms of a short command's start.
  const rounded = Math.round(n);
  const digits = String(Math.abs(rounded));
  const grouped = /^\d{4,}$/.test(digits) ? digits.replace(/\B(?=(\d{3})+$)/g, ',') : digits;
  return rounded < 0 ? `-${grouped}` : grouped;
}

export function fmtPct(x: number | null | undefined): string {
  if (x === null || x === undefined) return '–';
  const p = x * 100;
  return `${p === 0 ? '0' : p < 0.1 ? p.toFixed(2) : p < 10 ? p.toFixed(1) : p.toFixed(0)}%`;
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s`;
  if (ms >= 10) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function fmtRate(count: number, seconds: number): string {
  if (seconds <= 0) return '–';
  const r = count / seconds;
  return r >= 100 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r >= 0.01 ? r.toFixed(2) : r > 0 ? '<0.01' : '0';
}

export function fmtDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  if (m < 60) return `${m} min ${s} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m - h * 60} min`;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${fmtInt(n)} ${n === 1 ? word : many}`;
}

/** An analysis message as text: counts with their noun, shares as percentages, durations in ms or s. */
export function formatMessage(m: Message): string {
  let out = '';
  for (const p of m) {
    if (typeof p === 'string') out += p;
    else if (typeof p === 'number') out += String(p);
    else if ('count' in p) out += p.many === undefined ? plural(p.count, p.one) : plural(p.count, p.one, p.many);
    else if ('share' in p) out += fmtPct(p.share);
    else out += fmtMs(p.ms);
  }
  return out;
}
