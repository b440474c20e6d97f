import { BlockList, isIP } from "node:net";

/** Which peers may speak for the client: addresses and CIDR blocks (`server.trustedProxies`). */
export interface TrustedProxies {
  /** Whether `address` (as a socket reports it, IPv4-mapped IPv6 included) is one of them. */
  has(address: string | undefined): boolean;
  /** True when the list is empty: no peer is trusted (the default). */
  readonly none: boolean;
}

/** An IPv4 address written as IPv6 (`::ffff:10.0.0.1`, as a dual-stack socket reports it) in its IPv4 form. */
export function unmapped(address: string): string {
  return address.length > 7 && address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** Why an entry of `trustedProxies` is not an address or CIDR block, or undefined. */
export function trustedEntryProblem(entry: string): string | undefined {
  const slash = entry.indexOf("/");
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return `must be an IP address or a CIDR block such as "10.0.0.0/8" or "fd00::/8", got ${JSON.stringify(entry)}`;
  if (slash === -1) return undefined;
  const bits = entry.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `the prefix length of ${JSON.stringify(entry)} must be 0-${max}`;
  return undefined;
}

/** No peer trusted: `server.trustedProxies` empty (the default). */
export const NO_TRUSTED_PROXIES: TrustedProxies = { has: () => false, none: true };

/**
 * The matcher of a validated `trustedProxies` list (entries checked by `trustedEntryProblem`). IPv4
 * entries also match their IPv4-mapped IPv6 form, as a dual-stack listener reports an IPv4 peer.
 */
export function trustedProxies(entries: readonly string[]): TrustedProxies {
  if (entries.length === 0) return NO_TRUSTED_PROXIES;
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split("/") as [string, string | undefined];
    const type = isIP(address) === 4 ? "ipv4" : "ipv6";
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return {
    none: false,
    has(address) {
      if (address === undefined) return false;
      const plain = unmapped(address);
      const family = isIP(plain);
      return family !== 0 && list.check(plain, family === 4 ? "ipv4" : "ipv6");
    },
  };
}
