/**
 * Which remote addresses count as one sender for rate limits and connection caps: an IPv4 address on its own (an
 * IPv4-mapped IPv6 address counts as its IPv4 address), an IPv6 address by its /64 network, since
 * one host is routinely handed a whole /64 and could otherwise take a fresh address per attempt.
 *
 * @module
 */

/**
 * The group of a remote address that rate limits and per-address caps count by.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addressGroup } from "./address_group.ts";
 * assert.equal(addressGroup("192.0.2.7"), "192.0.2.7");
 * assert.equal(addressGroup("::ffff:192.0.2.7"), "192.0.2.7");
 * assert.equal(addressGroup("2001:db8:1:2::9"), "2001:db8:1:2::/64");
 * assert.equal(addressGroup("2001:DB8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
 * ```
 */
export function addressGroup(address: string): string {
  const lower = address.toLowerCase();
  if (!lower.includes(":")) return lower;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1]!;
  const [head = "", tail] = lower.split("::");
  const headParts = head === "" ? [] : head.split(":");
  const tailParts = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = Math.max(0, 8 - headParts.length - tailParts.length);
  const groups = [...headParts, ...Array<string>(missing).fill("0"), ...tailParts];
  const network = groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, ""));
  return `${network.join(":")}::/64`;
}
