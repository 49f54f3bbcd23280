// analyze's --prometheus flag, apart from the metrics client so that the flag's help loads none of it.
import type { OptionSpec } from '../args.ts';

export const prometheusOption: OptionSpec = {
  name: 'prometheus',
  type: 'string',
  valueName: 'URL',
  group: 'Source',
  description: 'read Hubble metrics from this Prometheus (or Thanos Query, Mimir) HTTP API instead of flows; with --since (default 15m), --until, --namespace',
};
