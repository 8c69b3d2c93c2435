/**
 * What a host may be on the wire: an IPv4 address, an IPv6 address or a DNS name, and nothing
 * else (no ports, zone ids, spaces or control characters). {@link isHost} is the one check that
 * the `host` field of every message uses; {@link canonicalAddress} turns a connection's remote
 * address into the form the tracker records.
 *
 * @module
 */

import { MAX_HOST_LENGTH } from "./limits.ts";

const IPV4_PART = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const IPV4 = new RegExp(`^${IPV4_PART}(?:\\.${IPV4_PART}){3}$`);
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Whether `text` is a dotted-quad IPv4 address (`10.1.2.3`; no leading zeros, each part ≤ 255).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isIPv4 } from "./host.ts";
 * assert.ok(isIPv4("127.0.0.1"));
 * assert.ok(!isIPv4("127.0.0.01"));
 * ```
 */
export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

/**
 * The eight 16-bit groups of an IPv6 address in text form (`::` and a trailing dotted IPv4 part
 * allowed), or `undefined` when `text` is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIPv6 } from "./host.ts";
 * assert.deepEqual(parseIPv6("::1"), [0, 0, 0, 0, 0, 0, 0, 1]);
 * assert.equal(parseIPv6("1::2::3"), undefined);
 * ```
 */
export function parseIPv6(text: string): number[] | undefined {
  if (text.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes(".")) {
        if (!isIPv4(piece)) return undefined;
        const [a, b, c, d] = piece.split(".").map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  return missing >= 1 ? [...head, ...new Array<number>(missing).fill(0), ...tail] : undefined;
}

/**
 * Whether `text` is an IPv6 address (without brackets or a zone id).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isIPv6 } from "./host.ts";
 * assert.ok(isIPv6("2001:db8::1"));
 * assert.ok(!isIPv6("[::1]"));
 * ```
 */
export function isIPv6(text: string): boolean {
  return parseIPv6(text) !== undefined;
}

/**
 * Whether `text` is a DNS name: dot-separated labels of letters, digits and inner hyphens (1–63
 * each), at most 253 characters, the last label not all digits (so `1.2.3.256` is neither an
 * address nor a name).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isDnsName } from "./host.ts";
 * assert.ok(isDnsName("peer-1.lab.example"));
 * assert.ok(!isDnsName("-oProxyCommand"));
 * ```
 */
export function isDnsName(text: string): boolean {
  if (text.length === 0 || text.length > MAX_HOST_LENGTH) return false;
  const labels = text.split(".");
  if (!labels.every((label) => DNS_LABEL.test(label))) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

/**
 * Whether `text` may stand as a host in a message: an IPv4 address, an IPv6 address or a DNS name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isHost } from "./host.ts";
 * assert.ok(isHost("10.1.2.3") && isHost("::1") && isHost("tracker.lab"));
 * assert.ok(!isHost("evil\u001b[2J.example"));
 * ```
 */
export function isHost(text: string): boolean {
  return isIPv4(text) || isIPv6(text) || isDnsName(text);
}

/**
 * The form in which the tracker records a connection's remote address: an IPv4-mapped IPv6
 * address (`::ffff:10.1.2.3`) becomes its IPv4 form, a zone id (`fe80::1%eth0`) is dropped, and
 * IPv6 is written in its compressed lower-case form. Anything that is not an IP address comes
 * back unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalAddress } from "./host.ts";
 * assert.equal(canonicalAddress("::ffff:127.0.0.1"), "127.0.0.1");
 * assert.equal(canonicalAddress("::FFFF:7f00:1"), "127.0.0.1");
 * assert.equal(canonicalAddress("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
 * ```
 */
export function canonicalAddress(address: string): string {
  const bare = address.replace(/%.*$/, "");
  const groups = parseIPv6(bare);
  if (!groups) return address;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6]!, groups[7]!];
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return formatIPv6(groups);
}

/** RFC 5952 text of eight groups: lower case, the longest run (≥ 2) of zero groups as `::`. */
function formatIPv6(groups: number[]): string {
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(":");
  return `${hex.slice(0, best.at).join(":")}::${hex.slice(best.at + best.length).join(":")}`;
}
