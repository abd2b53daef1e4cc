// DNS numbers used across kdns. Names follow RFC 1035 / IANA registries.

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
  BADVERS: 16,
} as const;

const RCODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(RCODE).map(([k, v]) => [v, k]),
);

/** Rcode name as CoreDNS prints it (metrics label, logs): "RCODE<n>" when unknown. */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

export const OPCODE = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

export const CLASS = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

export const TYPE = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33,
  NAPTR: 35, DS: 43, OPT: 41, RRSIG: 46, NSEC: 47, DNSKEY: 48, NSEC3: 50, SVCB: 64, HTTPS: 65,
  IXFR: 251, AXFR: 252, ANY: 255, CAA: 257,
} as const;

const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(TYPE).map(([k, v]) => [v, k]),
);

/** Type mnemonic; unknown types as RFC 3597 "TYPE<n>". */
export function typeName(t: number): string {
  return TYPE_NAMES[t] ?? `TYPE${t}`;
}

export function typeNumber(name: string): number | undefined {
  const u = name.toUpperCase();
  if (u in TYPE) return (TYPE as Record<string, number>)[u];
  const m = /^TYPE(\d+)$/.exec(u);
  return m ? Number(m[1]) : undefined;
}

export function className(c: number): string {
  switch (c) {
    case 1: return 'IN';
    case 3: return 'CH';
    case 4: return 'HS';
    case 254: return 'NONE';
    case 255: return 'ANY';
    default: return `CLASS${c}`;
  }
}
