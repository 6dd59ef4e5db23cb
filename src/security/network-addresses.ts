/**
 * Which network addresses count as public, for the outbound-fetch policy (outbound-fetch.ts):
 * an address is public when it is globally reachable unicast, i.e. in none of the IANA
 * special-purpose ranges below. Loopback, private, link-local, shared (CGNAT), documentation,
 * multicast and reserved addresses are not, in IPv4 and IPv6 alike; an IPv4-mapped IPv6 address
 * (`::ffff:127.0.0.1`) is judged as the IPv4 address it carries, and IPv6 outside global
 * unicast (2000::/3) is never public.
 *
 * https://www.iana.org/assignments/iana-ipv4-special-registry/
 * https://www.iana.org/assignments/iana-ipv6-special-registry/
 */
import { BlockList, isIP } from 'node:net';

/** The setting that lets the server fetch non-public addresses. */
export const PRIVATE_NETWORK_SETTING = 'ALLOW_PRIVATE_NETWORK_FETCH';

type Family = 'ipv4' | 'ipv6';

/** Special-purpose ranges, named for the messages that refuse them. */
const NOT_PUBLIC: ReadonlyArray<readonly [network: string, prefix: number, family: Family, kind: string]> = [
  ['0.0.0.0', 8, 'ipv4', '"this network"'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignment'],
  ['192.0.2.0', 24, 'ipv4', 'documentation'],
  ['192.88.99.0', 24, 'ipv4', '6to4 relay'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['198.51.100.0', 24, 'ipv4', 'documentation'],
  ['203.0.113.0', 24, 'ipv4', 'documentation'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['64:ff9b::', 96, 'ipv6', 'NAT64'],
  ['64:ff9b:1::', 48, 'ipv6', 'NAT64 (local)'],
  ['100::', 64, 'ipv6', 'discard-only'],
  ['2001::', 23, 'ipv6', 'IETF protocol assignment (Teredo, benchmarking, ORCHID)'],
  ['2001:db8::', 32, 'ipv6', 'documentation'],
  ['2002::', 16, 'ipv6', '6to4'],
  ['3fff::', 20, 'ipv6', 'documentation'],
  ['5f00::', 16, 'ipv6', 'segment routing'],
  ['fc00::', 7, 'ipv6', 'unique local (private)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'site-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

function subnet(network: string, prefix: number, family: Family): BlockList {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return list;
}

const RANGES = NOT_PUBLIC.map(([network, prefix, family, kind]) => ({ family, kind, list: subnet(network, prefix, family) }));
const IPV4_MAPPED = subnet('::ffff:0:0', 96, 'ipv6');
const GLOBAL_UNICAST_V6 = subnet('2000::', 3, 'ipv6');

/**
 * Why `address` (an IP address, any notation Node accepts) is not public: the kind of range it
 * is in ("loopback", "private" ...), or `undefined` for a public address.
 */
export function nonPublicKind(address: string): string | undefined {
  // A zone index (fe80::1%eth0) only ever follows a link-local address.
  const ip = address.replace(/^\[|\]$/g, '');
  if (ip.includes('%')) return 'link-local';
  const family = isIP(ip);
  if (family === 4) return RANGES.find((r) => r.family === 'ipv4' && r.list.check(ip, 'ipv4'))?.kind;
  if (family !== 6) return 'not an IP address';
  // BlockList checks an IPv4-mapped IPv6 address against the IPv4 rules.
  if (IPV4_MAPPED.check(ip, 'ipv6')) return RANGES.find((r) => r.family === 'ipv4' && r.list.check(ip, 'ipv6'))?.kind;
  const kind = RANGES.find((r) => r.family === 'ipv6' && r.list.check(ip, 'ipv6'))?.kind;
  return kind ?? (GLOBAL_UNICAST_V6.check(ip, 'ipv6') ? undefined : 'reserved');
}

/** Whether `address` is a globally reachable unicast address. */
export function isPublicAddress(address: string): boolean {
  return nonPublicKind(address) === undefined;
}

/**
 * Host names that name this machine whatever DNS says (RFC 6761 §6.3): `localhost` and
 * `*.localhost`, with or without the root's trailing dot.
 */
export function isLocalhostName(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || host.endsWith('.localhost');
}

/**
 * Why the server will never fetch `url` (a sentence naming the address and the setting that
 * would allow it), or `undefined` when it may. Decided from the URL alone: its scheme, an IP
 * address in any spelling the URL parser accepts (`http://2130706433/`, `http://0x7f.1/` and
 * `http://[::ffff:127.0.0.1]/` are all 127.0.0.1), and `localhost` names. A DNS name is checked
 * when it is fetched, against the address it resolves to (outbound-fetch.ts).
 */
export function fetchRefusal(url: string | URL, allowPrivateNetwork: boolean): string | undefined {
  const parsed = url instanceof URL ? url : URL.parse(url);
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) return 'it is not an http or https URL';
  if (allowPrivateNetwork) return undefined;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const kind = isIP(host) ? nonPublicKind(host) : isLocalhostName(host) ? 'loopback' : undefined;
  if (!kind) return undefined;
  return `its host ${parsed.hostname} is not a public address (${kind}); this server fetches only public addresses unless ${PRIVATE_NETWORK_SETTING}=true`;
}
