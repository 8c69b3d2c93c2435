/**
 * The change log's shapes: what one entry says, how it is stored, and how long it is kept.
 *
 * Every mutation that changes what the holder index shows (holder rows, address records,
 * liveness, transfer counts, partial holders, revoked sessions) appends a {@link ChangeEntry}
 * under `["change", writer, seq]` in the same atomic commit (`KvPlumbing.logChange`); each tracker
 * keeps the index in memory, loads it once and then tails these entries (`IndexStore.readChanges`,
 * followed by `IndexFollower`). Entries expire after {@link CHANGE_RETENTION_MS}, which compacts
 * the log; a tracker that fell further behind loads the index again.
 *
 * ## Why no committed entry is ever skipped
 *
 * Each store instance (a writer) numbers its entries 0, 1, 2, … as it builds them, and every entry
 * also carries `done`: the lowest number of that writer whose commit had not yet finished (landed
 * or failed) when the entry was built. A reader follows each writer by number: it reads the
 * entries above the highest it has seen, remembers every number below that it has not seen (a
 * commit still in flight, or one that failed), and asks for those by exact key on every read. It
 * forgets such a gap only when an entry read on an earlier read says `done` above it: that commit
 * had finished before that entry was built, so if it landed it was visible to the read that
 * follows, which did not find it. However late a commit lands (a lock wait, a pause, a stopped
 * process), its number stays a gap until it is read. Keys carry no clock, so clocks cannot skip
 * anything either. On the remote KV backend, a commit that throws (a network error) may still
 * have landed; its number is then treated as failed, like on SQLite where a thrown commit did not
 * land.
 *
 * @module
 */
import type { PartialUpdate } from "./partial_holders.ts";

/**
 * One entry of the change log: what changed, by key, so that a reader re-reads exactly those keys
 * (holder rows and addresses, which makes applying an entry twice or late harmless), or the
 * values themselves where they only grow (heartbeats) or only go (revoked sessions).
 */
export interface ChangeEntry {
  /** Holder rows written or deleted: `[name, id, user]`. */
  holders?: [string, string, string][];
  /** Users whose address record changed. */
  peers?: string[];
  /** Heartbeats: `[user, session, lastSeen]`. */
  alive?: [string, string, number][];
  /** Token hashes of sessions that ended. */
  revoked?: string[];
  /** Transfer counts that changed: `[user, version id]` (the user's counts, the version's). */
  counts?: [string, string][];
  /** Partial holders updated or gone, with their records (they only live a few seconds). */
  partial?: PartialUpdate[];
}

/** A change entry as stored under `["change", writer, seq]`. */
export interface StoredChange {
  /** When its writer built it, ms since the epoch (informative: readers do not order by it). */
  at: number;
  /** The lowest number of its writer whose commit had not finished when it was built. */
  done: number;
  /** What changed. */
  change: ChangeEntry;
}

/** A change entry with its position in the log. */
export interface LoggedChange extends StoredChange {
  /** Who wrote it (one store instance). */
  writer: string;
  /** Its number among the writer's entries. */
  seq: number;
}

/** How long change entries are kept; a tracker further behind than this reloads its index. */
export const CHANGE_RETENTION_MS = 10 * 60_000;

/** How often each tracker reads new change entries. */
export const CHANGE_TAIL_MS = 200;
