// Strict decoding of request URLs: a malformed percent-escape is the client's error (400), never a server fault.
import { badRequest } from './errors.ts';

const ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** The first malformed escape in `text` (`%ZZ`, `%4`, a lone `%`), as Go's net/url names it. */
function badEscape(text: string): string | undefined {
  const m = ESCAPE.exec(text);
  return m ? text.slice(m.index, m.index + 3) : undefined;
}

/** Decodes one path segment; throws 400 `invalid URL escape "%ZZ"` as Go's url.PathUnescape would. */
export function decodeSegment(segment: string): string {
  const bad = badEscape(segment);
  if (bad !== undefined) throw badRequest(`invalid URL escape "${bad}"`);
  try {
    return decodeURIComponent(segment);
  } catch {
    // Well-formed escapes that are not UTF-8 (`%FF`): Go keeps the bytes; a name holding them is invalid anyway.
    throw badRequest(`invalid URL escape in path segment "${segment}"`);
  }
}

/**
 * Checks every parameter of a query string (without `?`) for malformed escapes. URLSearchParams would keep `%ZZ`
 * as literal text, turning `labelSelector=%ZZ` into a selector nobody wrote.
 */
export function checkQuery(search: string): void {
  for (const pair of search.replace(/^\?/, '').split('&')) {
    if (pair === '') continue;
    const bad = badEscape(pair);
    if (bad === undefined) continue;
    const name = pair.split('=')[0]!;
    throw badRequest(`invalid URL escape "${bad}" in query parameter "${badEscape(name) === undefined ? name : pair}"`);
  }
}
