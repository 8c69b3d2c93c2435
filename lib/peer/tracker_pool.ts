/**
 * Several trackers of one cluster (trackers sharing one KV): `--tracker a:7070,b:7070` or the same
 * list in `P2PFS_TRACKER`. A peer uses the first that answers and moves to the next when it fails
 * (see `TrackerClient.connect`, which takes the list, and `PeerNode`, which logs in and announces
 * again on the next one).
 *
 * @module
 */
import { formatAddress, parseAddress, type TrackerAddress } from "./tracker_client.ts";

/**
 * Parses a comma-separated list of `HOST:PORT` (IPv6 as `[::1]:7070`); duplicates count once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTrackerList } from "./tracker_pool.ts";
 * const list = parseTrackerList("127.0.0.1:7070, [::1]:7071");
 * assert.deepEqual(list.map((a) => a.port), [7070, 7071]);
 * ```
 */
export function parseTrackerList(text: string): TrackerAddress[] {
  const parts = text.split(",").map((part) => part.trim()).filter((part) => part !== "");
  if (parts.length === 0) {
    throw new TypeError(`Cannot parse tracker list "${text}": expected HOST:PORT[,HOST:PORT...]`);
  }
  const seen = new Map<string, TrackerAddress>();
  for (const part of parts) {
    const address = parseAddress(part);
    seen.set(formatAddress(address.hostname, address.port), address);
  }
  return [...seen.values()];
}

/**
 * A tracker or a list of them as `HOST:PORT[,HOST:PORT...]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTrackers } from "./tracker_pool.ts";
 * assert.equal(formatTrackers([{ hostname: "::1", port: 1 }, { hostname: "a", port: 2 }]), "[::1]:1,a:2");
 * ```
 */
export function formatTrackers(target: TrackerAddress | readonly TrackerAddress[]): string {
  const list: readonly TrackerAddress[] = Array.isArray(target) ? target : [target];
  return list.map((a) => formatAddress(a.hostname, a.port)).join(",");
}
