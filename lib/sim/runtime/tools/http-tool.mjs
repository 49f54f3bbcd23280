// What curl and wget in sim containers share: option parsing in their style, URL splitting, -w formats, exiting.

/**
 * Parses argv with short flags that combine (-sS), short options with attached or separate values (-o f, -ofile),
 * and --long / --long=value options. Repeated options are kept in order (all()).
 */
export function parseArgs(argv, spec) {
  const values = new Map();
  const positional = [];
  const add = (name, value) => values.set(name, [...(values.get(name) ?? []), value]);
  const longValues = new Set(spec.longValues);
  const longFlags = new Set(spec.longFlags);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (longValues.has(name)) {
        const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) throw new Error(`option --${name}: requires parameter`);
        add(name, v);
      } else if (longFlags.has(name)) add(name, true);
      else throw new Error(`option ${a}: is unknown`);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        if (spec.values[c]) {
          const v = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
          if (v === undefined) throw new Error(`option -${c}: requires parameter`);
          add(spec.values[c], v);
          break;
        }
        if (spec.flags[c]) add(spec.flags[c], true);
        else throw new Error(`option -${c}: is unknown`);
      }
      continue;
    }
    positional.push(a);
  }
  return {
    positional,
    has: (name) => values.has(name),
    get: (name) => values.get(name)?.at(-1),
    all: (name) => values.get(name) ?? [],
  };
}

/** Splits a URL as curl reads it (no scheme means http); a string is the error message. */
export function splitUrl(raw) {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url;
  try {
    url = new URL(withScheme);
  } catch {
    return `URL rejected: Malformed input to a URL function`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `Protocol "${url.protocol.slice(0, -1)}" not supported`;
  const tls = url.protocol === 'https:';
  return { url: url.href, tls, host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (tls ? 443 : 80)), path: `${url.pathname}${url.search}` };
}

/** curl's --write-out: %{variable} and the \n \t \r escapes. */
export function writeOut(format, vars) {
  return format
    .replace(/%\{([a-z_]+)\}/g, (whole, name) => vars[name] ?? (name in vars ? '' : whole))
    .replace(/\\([ntr\\])/g, (_, c) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c]);
}

/** Exits once what was written to stdout and stderr is handed over. */
export function exitWith(code) {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
