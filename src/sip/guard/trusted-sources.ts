/**
 * SIP_TRUSTED_SOURCES: the networks (a carrier's, a PBX's) whose requests are never
 * rate-limited, so their OPTIONS keep-alives and call bursts always get through.
 */
import { BlockList, isIPv4 } from 'node:net';
import type { Cidr } from '../../config/values.js';

export type SourceTest = (address: string) => boolean;

export function trustedSources(cidrs: readonly Cidr[]): SourceTest {
  if (cidrs.length === 0) return () => false;
  const networks = new BlockList();
  for (const cidr of cidrs) networks.addSubnet(cidr.address, cidr.prefix, cidr.family);
  return (address) => {
    const plain = unmapped(address);
    return networks.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
  };
}

/** An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; its IPv4 networks must still match. */
export function unmapped(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}
