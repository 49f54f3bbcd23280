// Cilium's reserved security identities (pkg/identity/numericidentity.go): numbers any Hubble endpoint may carry.

export const reservedIdentityNumbers = {
  unknown: 0,
  host: 1,
  world: 2,
  unmanaged: 3,
  health: 4,
  init: 5,
  'remote-node': 6,
  'kube-apiserver': 7,
  ingress: 8,
  'world-ipv4': 9,
  'world-ipv6': 10,
  'overlay-to-encrypt': 11,
} as const;

export type ReservedIdentityName = keyof typeof reservedIdentityNumbers;

/** Number → name, as the hubble CLI prints an identity. */
export const reservedIdentityNames: Readonly<Record<number, ReservedIdentityName>> = Object.fromEntries(
  Object.entries(reservedIdentityNumbers).map(([name, n]) => [n, name as ReservedIdentityName]),
);
