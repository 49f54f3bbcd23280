// How the sim's agents read cilium-config values, as the Cilium agent does; and the error it stops with.

/** The agent refuses to start with this configuration; the message is what it logs before exiting. */
export class AgentConfigError extends Error {}

/** strconv.ParseBool's true spellings; anything else (unset, unparsable) reads as false, as viper's GetBool. */
export function parseBool(value: string | undefined): boolean {
  return value !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value.trim());
}

/** A `[host]:port` listen address under `key`; unset or empty means not listening. */
export function parseAddress(key: string, value: string | undefined, example: string): { port: number | undefined; loopback: boolean } {
  const text = (value ?? '').trim();
  if (text === '') return { port: undefined, loopback: false };
  const colon = text.lastIndexOf(':');
  const host = colon >= 0 ? text.slice(0, colon).replace(/^\[|\]$/g, '') : '';
  const portText = colon >= 0 ? text.slice(colon + 1) : '';
  const port = Number(portText);
  if (colon < 0 || !/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new AgentConfigError(`${key} ${JSON.stringify(text)}: expected [host]:port, e.g. "${example}"`);
  }
  return { port, loopback: host === '127.0.0.1' || host === 'localhost' || host === '::1' };
}
