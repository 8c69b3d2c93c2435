/**
 * The defaults a user meets without asking: the ports a tracker and its dashboard listen on, the
 * port and host a serving peer takes, how often peers beat their heart, how long a ping waits and
 * where downloads land. Every place that uses one of them, help texts included, takes it from here.
 *
 * @module
 */

/**
 * The port a tracker listens on, and the one `--tracker HOST` means when it names no port.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_TRACKER_PORT } from "./defaults.ts";
 * assert.equal(`127.0.0.1:${DEFAULT_TRACKER_PORT}`, "127.0.0.1:7070");
 * ```
 */
export const DEFAULT_TRACKER_PORT = 7070;

/** The port of the tracker's dashboard and HTTP API (on the tracker's host). */
export const DEFAULT_DASHBOARD_PORT = 7080;

/** The host trackers and serving peers listen on, and the tracker peers talk to: loopback. */
export const DEFAULT_HOST = "127.0.0.1";

/** The port a serving peer listens on: 0, a free one picked by the system. */
export const DEFAULT_PEER_PORT = 0;

/** How often a peer must show it is alive, in ms, unless the tracker says otherwise. */
export const DEFAULT_HEARTBEAT_MS = 10_000;

/** How long a ping to a peer waits for its answer, in ms. */
export const PING_TIMEOUT_MS = 3_000;

/** How long a peer waits to connect to a tracker and hear its `hello`, in ms. */
export const TRACKER_CONNECT_TIMEOUT_MS = 10_000;

/** The folder, under the one a command was run from, where `get` saves by default. */
export const DOWNLOADS_DIR = "downloads";
