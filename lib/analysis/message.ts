// Findings as text whose numbers stay numbers: the analysis says what it found and how many, the report layer
// (lib/report/format.ts formatMessage) decides how a count, a share or a duration is written.

/** `count` things, called `one` (or `many`, by default `one` + "s"). */
export interface Count {
  count: number;
  one: string;
  many?: string;
}

/** A ratio in [0, 1], written as a percentage; null when there is none. */
export interface Share {
  share: number | null;
}

/** A duration in milliseconds; null when there is none. */
export interface Millis {
  ms: number | null;
}

/** A number as it is (a line number, a numerator), or one of the quantities above. */
export type Part = string | number | Count | Share | Millis;

export type Message = readonly Part[];

export function count(n: number, one: string, many?: string): Count {
  return many === undefined ? { count: n, one } : { count: n, one, many };
}

export function share(x: number | null): Share {
  return { share: x };
}

export function millis(ms: number | null): Millis {
  return { ms };
}

/** A message from a template, values kept as they are: msg`${edge}: p99 ${millis(p99)}`. A Message value is spliced in. */
export function msg(strings: TemplateStringsArray, ...values: (Part | Message)[]): Message {
  const out: Part[] = [];
  const push = (p: Part) => {
    if (typeof p === 'string') {
      if (p === '') return;
      // Adjacent text is kept as one part, so that a message reads as text where it has no numbers.
      if (typeof out.at(-1) === 'string') out[out.length - 1] += p;
      else out.push(p);
    } else {
      out.push(p);
    }
  };
  strings.forEach((s, i) => {
    push(s);
    if (i < values.length) {
      const v = values[i]!;
      if (Array.isArray(v)) for (const p of v as Message) push(p);
      else push(v as Part);
    }
  });
  return out;
}

/** Messages one after another with `separator` between them. */
export function joinMessages(messages: readonly Message[], separator: string): Message {
  return messages.flatMap((m, i) => (i === 0 ? m : [separator, ...m]));
}
