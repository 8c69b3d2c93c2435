/**
 * Several trackers of one cluster (trackers sharing one KV): `--tracker a:7070,b:7070` or the same
 * list in `P2PFS_TRACKER`. A peer uses the first that answers and moves to the next when it fails
 * (see `TrackerClient.connect`, which takes the list, and `PeerNode`, which logs in and announces
 * again on the next one).
 *
 * @module
 */
import { formatAddress, type TrackerAddress } from "./tracker_client.ts";

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
