// Generated names and ids: the 5-character suffixes Kubernetes appends and object uids.
import { randomInt, randomUUID } from 'node:crypto';

/** Kubernetes' suffix alphabet: no vowels (no words) and no look-alike characters. */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

export function newUid(): string {
  return randomUUID();
}

/** RFC 3339 with seconds, as Kubernetes writes timestamps. */
export function timestamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
