/**
 * A dashboard over an in-memory tracker store with a fake clock, for unit tests. Its state is
 * built the way the tracker builds it: announces go through the tracker's file index into the
 * store, and the pages read the holder index a follower of the store's change log keeps.
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
import {
  FileIndex,
  IndexFollower,
  KvTrackerStore,
  Liveness,
  type PartialHolders,
  type TrackerEvent,
} from "../../lib/tracker/mod.ts";

/** An in-memory store, an event log and a handler, all on one settable clock. */
export interface Fixture extends AsyncDisposable {
  /** The store. */
  store: KvTrackerStore;
  /** The event log. */
  events: EventLog;
  /** Downloads in progress, as the tracker keeps them. */
  partialHolders: PartialHolders;
  /** The tracker's file index over the store (announces go through it). */
  files: FileIndex;
  /** The handler under test. */
  handle: Handler;
  /** The clock's time, ms since the epoch; tests move it. */
  clock: { now: number };
  /** Fetches `path` from the handler and parses JSON. */
  getJson<T = unknown>(path: string, init?: RequestInit): Promise<{ status: number; body: T }>;
  /** Fetches `path` from the handler as text. */
  getText(path: string, init?: RequestInit): Promise<{ status: number; body: string }>;
  /**
   * Makes `user` an online peer sharing `files` (with a session hash that must never leak), by
   * the tracker's `announce` from 127.0.0.1.
   */
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
  const now = () => clock.now;
  // The tracker's own path: its file index writes to the store, a follower reads the change log.
  const follower = new IndexFollower(store);
  const liveness = new Liveness(store.index, follower, { heartbeatMs: HEARTBEAT_MS, now });
  const files = new FileIndex(store, follower, liveness, { now, trustAnnouncedHosts: false });
  const partialHolders = files.partial;
  const source = {
    store,
    heartbeatMs: HEARTBEAT_MS,
    events,
    partialHolders,
    // Read on every page, so a write a test makes straight to the store shows at once.
    index: async () => {
      await follower.catchUp();
      return follower.index;
    },
  };
  const feed = new ChangeFeed(source, { coalesceMs: 1 });
  const handle = createDashboardHandler(source, feed);
  const request = (path: string, init?: RequestInit) =>
    handle(new Request(`http://127.0.0.1${path}`, init));
  return {
    store,
    events,
    partialHolders,
    files,
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
    async share(user, shared, port = 40_000) {
      const session = "secret-session-hash-" + user;
      await files.announce(
        user,
        session,
        { type: "announce", token: "t", host: "127.0.0.1", port, replace: true, files: shared },
        { address: "127.0.0.1" },
      );
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
