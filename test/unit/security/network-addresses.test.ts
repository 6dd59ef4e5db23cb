/**
 * The outbound-fetch policy's address rules as a table: every IANA special-purpose range is
 * refused under its name, in IPv4, IPv6 and IPv4-mapped IPv6; global unicast is public; URLs are
 * judged on the address their host spells, whatever the spelling.
 */
import { describe, expect, it } from 'vitest';
import { fetchRefusal, isLocalhostName, isPublicAddress, nonPublicKind } from '../../../src/security/network-addresses.js';

describe('nonPublicKind', () => {
  const table: Array<[string, string | undefined]> = [
    ['0.0.0.0', '"this network"'],
    ['0.1.2.3', '"this network"'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.1', 'shared (carrier-grade NAT)'],
    ['100.127.255.254', 'shared (carrier-grade NAT)'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.8', 'IETF protocol assignment'],
    ['192.0.2.1', 'documentation'],
    ['192.88.99.1', '6to4 relay'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.251', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::7f00:1', 'reserved'],
    ['64:ff9b::a00:1', 'NAT64'],
    ['100::1', 'discard-only'],
    ['2001::1', 'IETF protocol assignment (Teredo, benchmarking, ORCHID)'],
    ['2001:db8::1', 'documentation'],
    ['2002:7f00:1::', '6to4'],
    ['3fff::1', 'documentation'],
    ['fc00::1', 'unique local (private)'],
    ['fd12:3456::1', 'unique local (private)'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['4000::1', 'reserved'],
    ['not-an-address', 'not an IP address'],
    // Public
    ['8.8.8.8', undefined],
    ['1.1.1.1', undefined],
    ['100.128.0.1', undefined],
    ['172.32.0.1', undefined],
    ['192.169.0.1', undefined],
    ['223.255.255.254', undefined],
    ['::ffff:8.8.8.8', undefined],
    ['2001:4860:4860::8888', undefined],
    ['2606:4700:4700::1111', undefined],
  ];
  it.each(table)('%s → %s', (address, kind) => {
    expect(nonPublicKind(address)).toBe(kind);
    expect(isPublicAddress(address)).toBe(kind === undefined);
  });
});

describe('fetchRefusal', () => {
  const refused: Array<[string, string, string]> = [
    ['http://127.0.0.1/', '127.0.0.1', 'loopback'],
    ['http://2130706433/', '127.0.0.1', 'loopback'],
    ['http://0x7f000001/', '127.0.0.1', 'loopback'],
    ['http://0x7f.0.0.1/', '127.0.0.1', 'loopback'],
    ['http://017700000001/', '127.0.0.1', 'loopback'],
    ['http://127.1/', '127.0.0.1', 'loopback'],
    ['http://0/', '0.0.0.0', '"this network"'],
    ['http://[::1]/', '[::1]', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', '[::ffff:7f00:1]', 'loopback'],
    ['http://[0:0:0:0:0:ffff:a00:1]/', '[::ffff:a00:1]', 'private'],
    ['https://10.0.0.1/', '10.0.0.1', 'private'],
    ['https://169.254.169.254/latest/meta-data/', '169.254.169.254', 'link-local'],
    ['http://localhost:8080/', 'localhost', 'loopback'],
    ['http://LOCALHOST./', 'localhost.', 'loopback'],
    ['http://keys.localhost/', 'keys.localhost', 'loopback'],
  ];
  it.each(refused)('%s is refused (%s, %s)', (url, host, kind) => {
    expect(fetchRefusal(url, false)).toBe(
      `its host ${host} is not a public address (${kind}); this server fetches only public addresses unless ALLOW_PRIVATE_NETWORK_FETCH=true`,
    );
    expect(fetchRefusal(url, true)).toBeUndefined();
  });

  it('leaves DNS names to the fetch (they are checked on the address they resolve to)', () => {
    for (const url of ['https://keys.example.org/jwks.json', 'https://8.8.8.8/', 'https://[2606:4700::1111]/', 'http://localhost.example.org/'])
      expect(fetchRefusal(url, false)).toBeUndefined();
  });

  it('refuses what is not an http(s) URL, whatever the setting', () => {
    for (const url of ['file:///etc/passwd', 'gopher://127.0.0.1/', 'not a url']) {
      expect(fetchRefusal(url, false)).toBe('it is not an http or https URL');
      expect(fetchRefusal(url, true)).toBe('it is not an http or https URL');
    }
  });

  it('knows the names RFC 6761 reserves for loopback', () => {
    for (const name of ['localhost', 'LocalHost', 'localhost.', 'a.b.localhost']) expect(isLocalhostName(name)).toBe(true);
    for (const name of ['localhost.example.org', 'mylocalhost', 'example.org']) expect(isLocalhostName(name)).toBe(false);
  });
});
