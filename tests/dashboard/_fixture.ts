/**
 * A dashboard over an in-memory tracker store with a fake clock, for unit tests.
 *
 * @module
 */
import {
  ChangeFeed,
  createDashboardHandler,
  EventLog,
  type Handler,
} from "../../lib/dashboard/mod.ts";
import type { FileManifest } from "../../lib/protocol/mod.ts";
import { KvTrackerStore, PartialHolders, type TrackerEvent } from "../../lib/tracker/mod.ts";

/** An in-memory store, an event log and a handler, all on one settable clock. */
export interface Fixture extends AsyncDisposable {
  /** The store. */
  store: KvTrackerStore;
  /** The event log. */
  events: EventLog;
  /** Downloads in progress, as the tracker keeps them. */
  partialHolders: PartialHolders;
  /** The handler under test. */
  handle: Handler;
  /** The clock's time, ms since the epoch; tests move it. */
  clock: { now: number };
  /** Fetches `path` from the handler and parses JSON. */
  getJson<T = unknown>(path: string, init?: RequestInit): Promise<{ status: number; body: T }>;
  /** Fetches `path` from the handler as text. */
  getText(path: string, init?: RequestInit): Promise<{ status: number; body: string }>;
  /** Makes `user` an online peer sharing `files` (with a session hash that must never leak). */
  share(user: string, files: FileManifest[], port?: number): Promise<void>;
  /** Records a tracker event at the clock's time. */
  record(event: Omit<TrackerEvent, "at" | "ms"> & { ms?: number }): void;
}

/** The heartbeat interval fixtures use. */
export const HEARTBEAT_MS = 1_000;

/** A manifest of `size` bytes in 1 MiB chunks, with made-up hashes. */
export function manifest(name: string, size: number, fill = "a"): FileManifest {
  const chunkSize = 1 << 20;
  const chunks = Math.max(1, Math.ceil(size / chunkSize));
  return {
    name,
    size,
    chunkSize,
    sha256: fill.repeat(64),
    chunkHashes: Array.from({ length: chunks }, () => "c".repeat(64)),
  };
}

/** Builds a {@link Fixture}. */
export async function makeFixture(): Promise<Fixture> {
  const store = await KvTrackerStore.open(":memory:");
  const clock = { now: Date.UTC(2030, 0, 1, 12, 0, 0) };
  const events = new EventLog({ now: () => clock.now });
  const partialHolders = new PartialHolders(() => clock.now);
  const source = { store, heartbeatMs: HEARTBEAT_MS, events, partialHolders };
  const feed = new ChangeFeed(source, { coalesceMs: 1 });
  const handle = createDashboardHandler(source, feed);
  const request = (path: string, init?: RequestInit) =>
    handle(new Request(`http://127.0.0.1${path}`, init));
  return {
    store,
    events,
    partialHolders,
    handle,
    clock,
    async getJson<T>(path: string, init?: RequestInit) {
      const response = await request(path, init);
      return { status: response.status, body: await response.json() as T };
    },
    async getText(path: string, init?: RequestInit) {
      const response = await request(path, init);
      return { status: response.status, body: await response.text() };
    },
    async share(user, files, port = 40_000) {
      await store.putPeer(user, {
        host: "127.0.0.1",
        port,
        lastSeen: clock.now,
        online: true,
        session: "secret-session-hash-" + user,
      });
      await store.putShares(user, files, true);
    },
    record(event) {
      events.record({ ms: 1, ...event, at: clock.now });
    },
    async [Symbol.asyncDispose]() {
      feed[Symbol.dispose]();
      await store[Symbol.asyncDispose]();
    },
  };
}
