/** smtp.allow_networks: which client addresses may talk to us at all. */
import { BlockList, isIPv4 } from 'node:net';

export interface NetworkList {
  allows(address: string): boolean;
}

/** An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d; match it against IPv4 networks. */
function unmap(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? (m[1] as string) : address;
}

/** Parse CIDR strings ("10.0.0.0/8", "2001:db8::/32", a bare address). Throws naming a bad entry. */
export function parseNetworks(cidrs: readonly string[]): NetworkList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [addr = '', bits] = cidr.trim().split('/');
    const family = isIPv4(addr) ? 'ipv4' : 'ipv6';
    const max = family === 'ipv4' ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max)
      throw new Error(`bad network "${cidr}": prefix must be 0–${max}`);
    try {
      list.addSubnet(addr, prefix, family);
    } catch {
      throw new Error(`bad network "${cidr}": not an IP address`);
    }
  }
  return {
    allows(address: string) {
      const a = unmap(address);
      return list.check(a, isIPv4(a) ? 'ipv4' : 'ipv6');
    },
  };
}

export function isLoopback(address: string): boolean {
  const a = unmap(address);
  return a === '::1' || a.startsWith('127.');
}
