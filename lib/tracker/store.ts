/**
 * The tracker's state, behind the {@link TrackerStore} interface, kept in Deno KV by
 * {@link KvTrackerStore} (a local SQLite file by default, `:memory:` in tests, or a remote KV URL).
 *
 * Key layout (values stay under KV's 64 KiB, keys under 2 KiB):
 *
 * | key                                   | value                                   |
 * |---------------------------------------|-----------------------------------------|
 * | `["user", lowercase(name)]`           | {@link UserRecord}: the name as registered, salted scrypt hash |
 * | `["session", sha256(token)]`          | {@link SessionRecord}, with `expireIn`  |
 * | `["user_session", user, sha256(token)]` | the same record, to list a user's sessions |
 * | `["peer", user]`                      | {@link PeerRecord}: address, liveness   |
 * | `["stat", user, "downloads"]`         | `Deno.KvU64` in thousandths, summed atomically |
 * | `["stat", user, "failures"]`          | `Deno.KvU64` in thousandths, summed atomically |
 * | `["holder", name, id, user]`          | {@link HolderRecord}: who has which version |
 * | `["share", user, name]`               | {@link ShareRecord}: reverse index      |
 * | `["version_holder", id, user]`        | the name: who holds a version, by id    |
 * | `["manifest", id]`                    | {@link ManifestHead}                    |
 * | `["manifest", id, i]`                 | part `i` of the chunk hashes: up to 1024 raw 32-byte digests |
 * | `["manifest_orphan", id]`             | ms since the epoch its last holder left (garbage collection) |
 * | `["vstat", id, "downloads"]`          | `Deno.KvU64` in thousandths: downloads of a version |
 * | `["reported", downloader, source, id]` | `true`, with `expireIn` of a day: one outcome counted |
 * | `["pair_counted", downloader, source, kind]` | times of the outcomes counted in the last day, at most {@link MAX_COUNTED_PER_PAIR} |
 * | `["progress_grant", user, id, name]`  | ms until which `user` may send `progress` on the version, with `expireIn` |
 * | `["meta", "layout"]`                  | the key layout's version ({@link STORE_LAYOUT}) |
 * | `["ticket_keys"]`                     | {@link TicketKeyRecord}: the Ed25519 pair that signs read tickets |
 * | `["alive", user]`                     | {@link AliveRecord}: the latest heartbeat a tracker wrote, in batches |
 * | `["change", writer, seq]`             | {@link StoredChange}, with `expireIn` ({@link CHANGE_RETENTION_MS}) |
 * | `["change_writer", writer]`           | ms of the writer's last change entry, with `expireIn` ({@link CHANGE_RETENTION_MS}) |
 * | `["login_failures", key]`             | ms of recent failed logins of a back-off key, with `expireIn` |
 * | `["registrations", group]`            | when an address group's registration bucket was last full, with `expireIn` |
 * | `["registrations_used", group]`       | `Deno.KvU64`: registrations an address group made |
 * | `["grant", downloader, id, source]`   | ms until which a report on `source` is allowed, with `expireIn` |
 * | `["counter", tracker, name]`          | `Deno.KvU64`: one tracker's request counts, for the dashboard |
 * | `["meta", "founded"]`                 | who registered first (the first admin), and when |
 * | `["invite", sha256(code)]`            | {@link InviteRecord}, with `expireIn`   |
 * | `["held_name", lowercase(name)]`      | `true` while a removed account's name may not be registered again, with `expireIn` |
 * | `["admin_audit", at, id]`             | {@link AdminAuditRecord}, with `expireIn` (`--audit-days`) |
 * | `["transfer_audit", at, id]`          | {@link TransferAuditRecord}: a reported transfer, with `expireIn` (`--audit-days`) |
 * | `["tracker_alive", tracker]`          | ms until which a tracker counts as alive (renewed by each counter flush), with `expireIn` |
 * | `["transfer", writer, n]`             | {@link StoredTransfer}: a reported transfer, numbered per writer, with `expireIn` ({@link TRANSFER_RETENTION_MS}) |
 * | `["transfer_writer", writer]`         | ms of the writer's last transfer, with `expireIn` ({@link TRANSFER_RETENTION_MS}) |
 * | `["partial", name, id, user]`         | {@link PartialUpdate}: a partial holder, with `expireIn` (`PARTIAL_HOLDER_TTL_MS`) |
 *
 * ## Several trackers on one KV
 *
 * Everything two tracker processes must agree on is in KV: accounts, sessions (a logout also
 * writes a change entry, so every tracker drops its cached copy within one tail interval),
 * addresses, liveness (each tracker writes the heartbeats it took in batches, one commit for many
 * peers), the holder index, login back-off and registration buckets (keys that expire by
 * themselves), report and progress grants, ticket keys (created once, by whichever tracker
 * commits first), partial holders (in batches, expiring, carried to the other trackers by the
 * change log), the recent transfers (expiring after {@link TRANSFER_RETENTION_MS}) and the
 * counters behind the dashboard and `/metrics` (one set per tracker, summed on the pages), and
 * which trackers are alive (a key each renews with its counters).
 *
 * Every mutation that changes what the holder index shows (holder rows, address records,
 * liveness, transfer counts) appends a {@link ChangeEntry} under `["change", writer, seq]` in the
 * same atomic commit; each tracker keeps the index in memory, loads it once and then tails these
 * entries ({@link KvTrackerStore.readChanges}). Entries expire after {@link CHANGE_RETENTION_MS},
 * which compacts the log; a tracker that fell further behind loads the index again.
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
 * Writes that trackers can race on use atomic checks: the share list (each commit checks the
 * share entries it read), account creation, ticket keys, report grants (used by a checked
 * delete) and the back-off keys. Liveness needs no read-modify-write: a heartbeat's record is
 * keyed by user and names the session it counts for.
 *
 * What stays in one process, and why:
 * - connection caps (per-address and unauthenticated slots, frame budgets): they bound this
 *   process's sockets and memory, which is what they protect;
 * - caches that are safe to be stale by a bounded time: manifests (content-addressed, never
 *   change), sessions (revocations arrive through the change log), the holder index and the copy
 *   of the partial holders (tailed every {@link CHANGE_TAIL_MS} ms), the dashboard's list of
 *   recent transfers (read from KV every 250 ms), writes waiting for their batch (heartbeats,
 *   partial holders, grants, counters: at most one batch interval each);
 * - the dashboard's change feed (when to redraw this process's pages).
 *
 * User names are unique without regard to case: the key is the name in lower case, the record
 * keeps the spelling it was registered with, and every other key uses that spelling (records
 * written before names were folded sit under their own spelling, and are still found by it).
 *
 * A version's `id` is its manifest id ({@link manifestId}), computed here from what was announced,
 * never taken from a client. A manifest is written parts first, head last, so a head that exists
 * always has all its parts; being content-addressed, it is never overwritten. Holder rows are
 * written in the same commit as a check that their manifest head is still there, and garbage
 * collection deletes a manifest only in a commit that checks its orphan mark is unchanged, so an
 * announce racing a collection either keeps the manifest or writes it again.
 *
 * @module
 */
import { type FileManifest, isHost, manifestId } from "../protocol/mod.ts";
import { PARTIAL_HOLDER_TTL_MS, type PartialUpdate } from "./partial_holders.ts";
import type { PasswordHash } from "./password.ts";

/** A registered account. */
export interface UserRecord {
  /** The name as it was registered (absent in records written before names were folded). */
  name?: string;
  /** The salted password hash. */
  password: PasswordHash;
  /** When it was created, ms since the epoch. */
  createdAt: number;
  /** An operator of this tracker (the first account registered is one). */
  admin?: boolean;
  /** Disabled by an operator: it cannot log in. */
  disabled?: boolean;
  /** Its password was set by an operator: it must be changed before anything else. */
  mustChangePassword?: boolean;
}

/** An invitation code's record (kept under the code's SHA-256, never the code). */
export interface InviteRecord {
  /** Registrations it still allows. */
  uses: number;
  /** When it stops working, ms since the epoch. */
  expiresAt: number;
  /** The admin who made it. */
  by: string;
  /** When, ms since the epoch. */
  createdAt: number;
}

/** One reported transfer, as the audit log keeps it (who downloaded what from whom, when). */
export interface TransferAuditRecord {
  /** When it was reported, ms since the epoch. */
  at: number;
  /** The downloader. */
  downloader: string;
  /** The source. */
  source: string;
  /** The file's name. */
  name: string;
  /** The version. */
  id: string;
  /** Whether it went well. */
  ok: boolean;
  /** Bytes the source delivered. */
  bytes: number;
  /** Why it failed. */
  reason?: string;
}

/** One admin action, as the audit log keeps it. */
export interface AdminAuditRecord {
  /** When, ms since the epoch. */
  at: number;
  /** The admin. */
  by: string;
  /** What (`disable`, `invite`, ...). */
  action: string;
  /** On which account, if any. */
  target?: string;
}

/** A live login session. */
export interface SessionRecord {
  /** The user it belongs to. */
  user: string;
  /** When it stops being valid, ms since the epoch. */
  expiresAt: number;
  /** Made with a password an operator set: only `passwd` (and `logout`) until it is changed. */
  mustChangePassword?: boolean;
  /** A token for one use only: `metrics` reads the dashboard's `/metrics` and nothing else. */
  scope?: "metrics";
  /** When it was created, ms since the epoch. */
  createdAt?: number;
  /** What logged in (`p2pfs-serve`, `p2pfs-get`, …), as the client said in `hello`. */
  agent?: string;
}

/** Where a peer listens and when it was last heard from. */
export interface PeerRecord {
  /** Host other peers connect to. */
  host: string;
  /** Port other peers connect to. */
  port: number;
  /** Last announce or heartbeat, ms since the epoch. */
  lastSeen: number;
  /** False once the session that announced it logged out. */
  online: boolean;
  /** Hash of the session that announced this address. */
  session: string;
  /** Whether it serves other peers over TLS. */
  tls?: boolean;
}

/** The last heartbeat a tracker wrote for a user, and the session it counts for. */
export interface AliveRecord {
  /** The session that announced the address. */
  session: string;
  /** When it was heard from, ms since the epoch. */
  lastSeen: number;
}

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

/** How long reported transfers are kept in KV for the dashboards of every tracker. */
export const TRANSFER_RETENTION_MS = 3600_000;

/** A `report` as the dashboards of every tracker list it. */
export interface StoredTransfer {
  /** When it was reported, ms since the epoch. */
  at: number;
  /** Who downloaded (the reporter), or null if its session was unknown. */
  user: string | null;
  /** The file's name. */
  name: string;
  /** The version's SHA-256. */
  sha256: string;
  /** Who served it. */
  source: string;
  /** Whether the source delivered verified bytes. */
  ok: boolean;
  /** Bytes the source delivered. */
  bytes: number;
  /** Why it failed, or null. */
  reason: string | null;
  /** `ok`, or the code the tracker refused the report with. */
  outcome: string;
}

/** How often each tracker reads new change entries. */
export const CHANGE_TAIL_MS = 200;

/** The version of the key layout this module reads and writes. */
export const STORE_LAYOUT = 2;

/** How long a manifest no holder announces is kept before garbage collection removes it. */
export const MANIFEST_GRACE_MS = 24 * 3600_000;

/** How long one (downloader, source, version) outcome blocks another from counting. */
export const REPORT_WINDOW_MS = 24 * 3600_000;

/**
 * Most outcomes of one kind (downloads, failures) counted per (downloader, source) in a
 * {@link REPORT_WINDOW_MS}, over all versions: made-up versions cannot inflate a count.
 */
export const MAX_COUNTED_PER_PAIR = 4;

/** That a user holds one version of a file. */
export interface HolderRecord {
  /** File size in bytes. */
  size: number;
  /** Chunk size of the version. */
  chunkSize: number;
  /** SHA-256 of the whole file. */
  sha256: string;
}

/** The reverse index entry: which version of `name` a user shares. */
export interface ShareRecord {
  /** The version's manifest id. */
  id: string;
}

/** The head of a stored manifest. */
export interface ManifestHead {
  /** File size in bytes. */
  size: number;
  /** Chunk size in bytes. */
  chunkSize: number;
  /** SHA-256 of the whole file. */
  sha256: string;
  /** How many chunks. */
  chunkCount: number;
  /** How many parts the chunk hashes span. */
  parts: number;
}

/** One holder row, as listed. */
export interface HolderRow extends HolderRecord {
  /** File name. */
  name: string;
  /** The version's manifest id. */
  id: string;
  /** Who holds it. */
  user: string;
}

/** A user's transfer counts. */
export interface PeerStats {
  /** Successful uploads to others, as reported by downloaders. */
  downloads: number;
  /** Failed or corrupt transfers, as reported by downloaders. */
  failures: number;
}

/** The tracker's Ed25519 key pair that signs read tickets, shared by every tracker on one KV. */
export interface TicketKeyRecord {
  /** The private key, PKCS #8. */
  privateKey: Uint8Array;
  /** The public key, raw 32 bytes. */
  publicKey: Uint8Array;
  /** When it was made, ms since the epoch. */
  createdAt: number;
}

/** Everything the tracker persists. */
export interface TrackerStore extends AsyncDisposable {
  /**
   * Creates a user; false if the name is taken in any case (exactly one of concurrent calls
   * wins). The record's `name` is set to `name`.
   */
  createUser(name: string, record: UserRecord): Promise<boolean>;
  /** The record of the user named `name` in any case, with `name` as registered; or null. */
  getUser(name: string): Promise<UserRecord | null>;
  /** Replaces the password hash of user `name` (as registered); false if there is no such user. */
  setPassword(name: string, password: PasswordHash): Promise<boolean>;
  /**
   * Changes user `name`'s record with `change` (null deletes it), checked against concurrent
   * writers; `guard` sees every user record first and may refuse (throw) in the same commit's
   * view (e.g. never the last admin). Resolves to the record written, or null when there was none.
   */
  updateUser(
    name: string,
    change: (record: UserRecord) => UserRecord | null,
    guard?: (all: UserRecord[]) => void,
  ): Promise<UserRecord | null>;
  /** Whether an account was ever registered (the first one is the admin). */
  founded(): Promise<boolean>;
  /** Every account (records without hashes stripped: the caller must not hand them out). */
  listUsers(): Promise<UserRecord[]>;
  /** Ends every session of `user`; the token hashes ended. */
  endSessions(user: string, now: number): Promise<string[]>;
  /** Stores an invitation under its code's hash, expiring with it. */
  putInvite(codeHash: string, record: InviteRecord, now: number): Promise<void>;
  /** Uses one registration of the invitation; false when unknown, used up or expired. */
  takeInvite(codeHash: string, now: number): Promise<boolean>;
  /** Keeps a removed account's name from being registered again for `ms`. */
  holdName(name: string, ms: number): Promise<void>;
  /** Whether a removed account's name is still held. */
  nameHeld(name: string): Promise<boolean>;
  /** Records an admin action, kept `ms`. */
  audit(record: AdminAuditRecord, ms: number): Promise<void>;
  /** The latest admin actions, newest first. */
  listAudit(limit: number): Promise<AdminAuditRecord[]>;
  /** Records a reported transfer, kept `ms`. */
  auditTransfer(record: TransferAuditRecord, ms: number): Promise<void>;
  /** The latest reported transfers, newest first. */
  listTransferAudit(limit: number): Promise<TransferAuditRecord[]>;
  /** Stores a session under its token hash; it expires by itself (`now` is the caller's clock). */
  putSession(tokenHash: string, record: SessionRecord, now: number): Promise<void>;
  /** The session, or null if unknown or expired. */
  getSession(tokenHash: string, now: number): Promise<SessionRecord | null>;
  /** Removes a session. */
  deleteSession(tokenHash: string): Promise<void>;
  /** A user's live sessions, by token hash. */
  listSessions(user: string, now: number): Promise<Map<string, SessionRecord>>;
  /** The counts of each of `users`. */
  getStatsMany(users: string[]): Promise<Map<string, PeerStats>>;
  /** The peer's address record, or null (also when its host is not an address or a DNS name). */
  getPeer(user: string): Promise<PeerRecord | null>;
  /** Every peer's address record (but those whose host is not an address or a DNS name). */
  listPeers(): Promise<Map<string, PeerRecord>>;
  /** Stores the peer's address record. */
  putPeer(user: string, record: PeerRecord): Promise<void>;
  /**
   * Records what `user` shares; with `replace`, forgets what it shared before. `now` (the caller's
   * clock) dates the orphan marks of versions it leaves.
   */
  putShares(
    user: string,
    files: FileManifest[],
    replace: boolean,
    now?: number,
  ): Promise<HolderKey[]>;
  /** Every holder of every file, or of the files named `name`. */
  listHolders(name?: string): Promise<HolderRow[]>;
  /** The chunk hashes of a stored manifest, by its id, or null. */
  getChunkHashes(id: string): Promise<string[] | null>;
  /** Adds to a user's downloads or failures (fractions count to a thousandth). */
  addStat(user: string, kind: keyof PeerStats, amount: number): Promise<void>;
  /**
   * Counts one transfer outcome from `source` to `downloader` of version `id`: adds `amount` to
   * the source's `kind` count (and, for downloads, to the version's), unless an outcome of that
   * triple was counted in the last {@link REPORT_WINDOW_MS}, or {@link MAX_COUNTED_PER_PAIR}
   * outcomes of that kind of the pair (downloader, source) were, over all versions. False when
   * it was not counted.
   */
  countOutcome(
    outcome: { downloader: string; source: string; id: string; kind: keyof PeerStats },
    amount: number,
    now: number,
  ): Promise<boolean>;
  /** Downloads counted for each version id (zero when none). */
  getVersionDownloads(ids: string[]): Promise<Map<string, number>>;
  /**
   * Removes up to `limit` manifests whose last holder left more than {@link MANIFEST_GRACE_MS}
   * before `now` and that nobody holds again; returns how many it removed.
   */
  collectManifests(now: number, limit: number): Promise<number>;
  /** A user's counts (zero when none). */
  getStats(user: string): Promise<PeerStats>;
  /**
   * The ticket signing keys: the stored pair, or `candidate` once stored. Of concurrent first
   * calls (several trackers on one KV) exactly one pair is stored, and every caller gets it.
   */
  ticketKeys(candidate: TicketKeyRecord): Promise<TicketKeyRecord>;
  /** Holder rows by `[name, id, user]`, null where there is none. */
  getHolders(keys: [string, string, string][]): Promise<(HolderRow | null)[]>;
  /** Address records of `users`, null where there is none (or its host is not a host). */
  getPeers(users: string[]): Promise<(PeerRecord | null)[]>;
  /** Every user's last written heartbeat. */
  listAlive(): Promise<Map<string, AliveRecord>>;
  /** Every user's transfer counts (users with none are left out). */
  listStats(): Promise<Map<string, PeerStats>>;
  /** Every version's download count (versions with none are left out). */
  listVersionDownloads(): Promise<Map<string, number>>;
  /** Writes heartbeats, many to a commit, each commit with its change entry. */
  putAlive(beats: Map<string, AliveRecord>): Promise<void>;
  /** The writers that wrote change entries still kept, with the time of each one's last. */
  changeWriters(): Promise<Map<string, number>>;
  /** Up to `limit` change entries of `writer` numbered `from` or more, in order. */
  readChanges(writer: string, from: number, limit: number): Promise<LoggedChange[]>;
  /** The change entries of `writer` numbered `seqs`, null where there is none (yet). */
  getChanges(writer: string, seqs: number[]): Promise<(LoggedChange | null)[]>;
  /** The newest change entry of `writer`, or null. */
  lastChange(writer: string): Promise<LoggedChange | null>;
  /** Recent failure times of each back-off key (empty when none). */
  loginFailures(keys: string[]): Promise<number[][]>;
  /**
   * Changes a back-off key's failure times by `update` (null deletes it), atomically against
   * other trackers; the key expires `ttlMs` after the write.
   */
  updateLoginFailures(
    key: string,
    update: (times: number[]) => number[] | null,
    ttlMs: number,
  ): Promise<void>;
  /**
   * Takes one registration from the token bucket of an address group (`perAddress` at once, then
   * one per `refillMs`): 0 if allowed, else ms until one is (nothing taken).
   */
  takeRegistration(
    group: string,
    bucket: { perAddress: number; refillMs: number },
    now: number,
  ): Promise<number>;
  /** Lets each `downloader` report once on `source` for version `id` until `until`. */
  putGrants(
    grants: { downloader: string; id: string; source: string; until: number }[],
  ): Promise<void>;
  /** Uses a grant up (exactly one of concurrent uses wins); false when there was none. */
  useGrant(downloader: string, id: string, source: string, now: number): Promise<boolean>;
  /** Lets each `user` send `progress` on version `id` of `name` until `until`. */
  putProgressGrants(
    grants: { user: string; name: string; id: string; until: number }[],
  ): Promise<void>;
  /** Until when `user` may send `progress` on version `id` of `name` (0: never granted). */
  progressGrant(user: string, name: string, id: string): Promise<number>;
  /** Writes partial-holder updates, many to a commit, each commit with its change entry. */
  putPartialHolders(updates: PartialUpdate[]): Promise<void>;
  /** Every partial holder written in the last {@link PARTIAL_HOLDER_TTL_MS} (and not gone). */
  listPartialHolders(): Promise<PartialUpdate[]>;
  /**
   * Writes transfers `writer` (one process) took, numbered from `first`, many to a commit; they
   * expire after {@link TRANSFER_RETENTION_MS}.
   */
  putTransfers(writer: string, first: number, transfers: StoredTransfer[]): Promise<void>;
  /** The writers of the transfers still kept. */
  transferWriters(): Promise<string[]>;
  /** Up to `limit` transfers of `writer` numbered `from` or more, in order, with their numbers. */
  listTransfers(
    writer: string,
    from: number,
    limit: number,
  ): Promise<{ n: number; transfer: StoredTransfer }[]>;
  /**
   * Adds to a tracker's request counters, and marks it alive for `aliveMs` (the dashboard lists
   * only trackers alive).
   */
  addCounters(tracker: string, counts: Map<string, number>, aliveMs?: number): Promise<void>;
  /** The trackers marked alive by {@link addCounters} and not stopped since. */
  liveTrackers(): Promise<Set<string>>;
  /** Marks a tracker stopped at once (it leaves the dashboard's table and sums). */
  retireTracker(tracker: string): Promise<void>;
  /** Every tracker's request counters: tracker, then counter name. */
  readCounters(): Promise<Map<string, Map<string, number>>>;
}

/** Settings of a {@link KvTrackerStore}. */
export interface KvStoreOptions {
  /**
   * Awaited before each commit that carries a change entry, after the entry's number is taken:
   * a fault to inject in tests (a commit held back by a lock, a pause, a stopped process).
   */
  beforeChangeCommit?: (change: ChangeEntry) => Promise<void>;
}

/** A holder row's key as a tuple: `[name, id, user]`. */
export type HolderKey = [string, string, string];

/** One commit's worth of writes and the holder keys they change. */
interface WriteGroup {
  writes: Array<(op: Deno.AtomicOperation) => void>;
  holders: HolderKey[];
}

/** Bytes of holder keys one change entry carries at most (values stay under 64 KiB). */
const CHANGE_ENTRY_BYTES = 48 * 1024;

const HASHES_PER_PART = 1024;

const MAX_MUTATIONS = 400;

const MAX_CHECKS = 100;

/** Attempts of a read-modify-write whose check other processes keep failing. */
const MAX_RETRIES = 30;

/** A short random wait before attempt `attempt + 1`, growing with each. */
function pause(attempt: number): Promise<void> {
  return new Promise((done) => setTimeout(done, Math.random() * 2 * (attempt + 1)));
}

/**
 * {@link TrackerStore} on Deno KV.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvTrackerStore } from "./store.ts";
 * await using store = await KvTrackerStore.open(":memory:");
 * assert.ok(await store.getUser("nobody") === null);
 * ```
 */
export class KvTrackerStore implements TrackerStore {
  readonly #kv: Deno.Kv;
  /** This store's name in change keys, so two writers never make the same key. */
  readonly #writer = crypto.randomUUID().slice(0, 8);
  #seq = 0;
  /** Numbers of this writer's change entries whose commit has not finished. */
  readonly #inFlight = new Set<number>();
  readonly #options: KvStoreOptions;
  /** Read-modify-writes waiting for their key, by key (see {@link #oneAtATime}). */
  readonly #queues = new Map<string, Promise<unknown>>();

  private constructor(kv: Deno.Kv, options: KvStoreOptions) {
    this.#kv = kv;
    this.#options = options;
  }

  /** This store's name as a writer of the change log. */
  get writer(): string {
    return this.#writer;
  }

  /**
   * An atomic operation whose commit waits and tries again while another process holds the KV
   * file's write lock (several trackers on one file; `database is locked`).
   */
  #atomic(): Deno.AtomicOperation {
    const op = this.#kv.atomic();
    const commit = op.commit.bind(op);
    op.commit = async () => {
      for (let attempt = 0;; attempt++) {
        try {
          return await commit();
        } catch (error) {
          const locked = error instanceof Error && /database is locked/.test(error.message);
          if (!locked || attempt >= 50) throw error;
          await pause(attempt);
        }
      }
    };
    return op;
  }

  /**
   * Adds the next change entry of this writer to `op`, and makes `op`'s commit mark the entry's
   * number finished when it lands, fails or throws (see "Why no committed entry is ever skipped").
   * Every caller commits `op`.
   */
  #logChange(op: Deno.AtomicOperation, change: ChangeEntry): Deno.AtomicOperation {
    const seq = this.#seq++;
    this.#inFlight.add(seq);
    let done = seq;
    for (const n of this.#inFlight) done = Math.min(done, n);
    const at = Date.now();
    op.set(["change", this.#writer, seq], { at, done, change } satisfies StoredChange, {
      expireIn: CHANGE_RETENTION_MS,
    });
    op.set(["change_writer", this.#writer], at, { expireIn: CHANGE_RETENTION_MS });
    const commit = op.commit.bind(op);
    const hold = this.#options.beforeChangeCommit;
    op.commit = async () => {
      try {
        if (hold) await hold(change);
        return await commit();
      } finally {
        this.#inFlight.delete(seq);
      }
    };
    return op;
  }

  /**
   * Opens the store at a file path, `:memory:`, or a remote KV URL. A store written by an older
   * layout (versions keyed by whole-file hash) loses its file index and sessions, which peers
   * rebuild by logging in and announcing again; accounts and counts are kept.
   */
  static async open(path: string, options: KvStoreOptions = {}): Promise<KvTrackerStore> {
    const kv = await Deno.openKv(path);
    const layout = await kv.get<number>(["meta", "layout"]);
    if (layout.value !== STORE_LAYOUT) {
      for (const prefix of ["holder", "share", "manifest", "session", "user_session"]) {
        const keys: Deno.KvKey[] = [];
        for await (const entry of kv.list({ prefix: [prefix] })) keys.push(entry.key);
        for (let i = 0; i < keys.length; i += MAX_MUTATIONS) {
          const op = kv.atomic();
          for (const key of keys.slice(i, i + MAX_MUTATIONS)) op.delete(key);
          await op.commit();
        }
      }
      await kv.atomic().check(layout).set(["meta", "layout"], STORE_LAYOUT).commit();
    }
    return new KvTrackerStore(kv, options);
  }

  async createUser(name: string, record: UserRecord): Promise<boolean> {
    const key = ["user", name.toLowerCase()];
    // The first account of a new tracker is its admin: decided in the same commit.
    const founded = await this.#kv.get(["meta", "founded"]);
    if (founded.value === null) {
      const first = await this.#atomic().check({ key, versionstamp: null }).check(founded)
        .set(key, { ...record, name, admin: true })
        .set(["meta", "founded"], { by: name, at: record.createdAt }).commit();
      if (first.ok) return true;
    }
    const result = await this.#atomic().check({ key, versionstamp: null })
      .set(key, { ...record, name }).commit();
    return result.ok;
  }

  async updateUser(
    name: string,
    change: (record: UserRecord) => UserRecord | null,
    guard?: (all: UserRecord[]) => void,
  ): Promise<UserRecord | null> {
    for (;;) {
      const key = ["user", name.toLowerCase()];
      const entry = await this.#kv.get<UserRecord>(key);
      if (!entry.value) return null;
      const op = this.#atomic().check(entry);
      if (guard) {
        // Every account read and checked: the guard's view holds at the commit.
        const all: UserRecord[] = [];
        for await (const e of this.#kv.list<UserRecord>({ prefix: ["user"] })) {
          all.push(e.key[1] === key[1] ? entry.value : e.value);
          op.check(e);
        }
        guard(all.map((r) => (r === entry.value ? change({ ...r }) ?? { ...r, admin: false } : r)));
      }
      const next = change({ ...entry.value });
      if (next === null) op.delete(key);
      else op.set(key, next);
      if ((await op.commit()).ok) return next ?? entry.value;
    }
  }

  async founded(): Promise<boolean> {
    return (await this.#kv.get(["meta", "founded"])).value !== null;
  }

  async listUsers(): Promise<UserRecord[]> {
    const users: UserRecord[] = [];
    for await (const e of this.#kv.list<UserRecord>({ prefix: ["user"] })) {
      users.push({ ...e.value, name: e.value.name ?? String(e.key[1]) });
    }
    return users;
  }

  async endSessions(user: string, now: number): Promise<string[]> {
    const sessions = await this.listSessions(user, now);
    for (const hash of sessions.keys()) await this.deleteSession(hash);
    return [...sessions.keys()];
  }

  async putInvite(codeHash: string, record: InviteRecord, now: number): Promise<void> {
    await this.#atomic().set(["invite", codeHash], record, {
      expireIn: Math.max(1, record.expiresAt - now),
    }).commit();
  }

  async takeInvite(codeHash: string, now: number): Promise<boolean> {
    for (;;) {
      const entry = await this.#kv.get<InviteRecord>(["invite", codeHash]);
      const invite = entry.value;
      if (!invite || invite.uses < 1 || invite.expiresAt <= now) return false;
      const op = this.#atomic().check(entry);
      if (invite.uses === 1) op.delete(["invite", codeHash]);
      else {
        op.set(["invite", codeHash], { ...invite, uses: invite.uses - 1 }, {
          expireIn: Math.max(1, invite.expiresAt - now),
        });
      }
      if ((await op.commit()).ok) return true;
    }
  }

  async holdName(name: string, ms: number): Promise<void> {
    await this.#atomic().set(["held_name", name.toLowerCase()], true, { expireIn: ms }).commit();
  }

  async nameHeld(name: string): Promise<boolean> {
    return (await this.#kv.get(["held_name", name.toLowerCase()])).value === true;
  }

  async audit(record: AdminAuditRecord, ms: number): Promise<void> {
    await this.#atomic().set(["admin_audit", record.at, crypto.randomUUID()], record, {
      expireIn: ms,
    }).commit();
  }

  async auditTransfer(record: TransferAuditRecord, ms: number): Promise<void> {
    await this.#atomic().set(["transfer_audit", record.at, crypto.randomUUID()], record, {
      expireIn: ms,
    }).commit();
  }

  async listTransferAudit(limit: number): Promise<TransferAuditRecord[]> {
    const out: TransferAuditRecord[] = [];
    for await (
      const e of this.#kv.list<TransferAuditRecord>({ prefix: ["transfer_audit"] }, {
        reverse: true,
        limit,
      })
    ) out.push(e.value);
    return out;
  }

  async listAudit(limit: number): Promise<AdminAuditRecord[]> {
    const out: AdminAuditRecord[] = [];
    for await (
      const e of this.#kv.list<AdminAuditRecord>({ prefix: ["admin_audit"] }, {
        reverse: true,
        limit,
      })
    ) out.push(e.value);
    return out;
  }

  async getUser(name: string): Promise<UserRecord | null> {
    const lower = name.toLowerCase();
    const folded = (await this.#kv.get<UserRecord>(["user", lower])).value;
    if (folded) return { ...folded, name: folded.name ?? lower };
    if (lower === name) return null;
    // A record written before names were folded, under the spelling it was registered with.
    const legacy = (await this.#kv.get<UserRecord>(["user", name])).value;
    return legacy ? { ...legacy, name } : null;
  }

  async setPassword(name: string, password: PasswordHash): Promise<boolean> {
    for (const key of [["user", name.toLowerCase()], ["user", name]]) {
      const entry = await this.#kv.get<UserRecord>(key);
      if (!entry.value) continue;
      const result = await this.#atomic().check(entry)
        .set(key, { ...entry.value, password }).commit();
      if (result.ok) return true;
      return await this.setPassword(name, password); // changed meanwhile: read it again
    }
    return false;
  }

  async putSession(tokenHash: string, record: SessionRecord, now: number): Promise<void> {
    const ttl = Math.max(1, record.expiresAt - now);
    await this.#atomic()
      .set(["session", tokenHash], record, { expireIn: ttl })
      .set(["user_session", record.user, tokenHash], record, { expireIn: ttl })
      .commit();
  }

  async listSessions(user: string, now: number): Promise<Map<string, SessionRecord>> {
    const sessions = new Map<string, SessionRecord>();
    for await (const entry of this.#kv.list<SessionRecord>({ prefix: ["user_session", user] })) {
      if (entry.value.expiresAt > now) sessions.set(entry.key[2] as string, entry.value);
    }
    return sessions;
  }

  async getStatsMany(users: string[]): Promise<Map<string, PeerStats>> {
    const keys = users.flatMap((user) => [["stat", user, "downloads"], ["stat", user, "failures"]]);
    const entries = await this.#getMany<Deno.KvU64>(keys);
    const stats = new Map<string, PeerStats>();
    users.forEach((user, i) => {
      stats.set(user, {
        downloads: Number(entries[2 * i]?.value?.value ?? 0n) / 1000,
        failures: Number(entries[2 * i + 1]?.value?.value ?? 0n) / 1000,
      });
    });
    return stats;
  }

  /** `kv.getMany` for any number of keys (it takes at most 10 at a time). */
  async #getMany<T>(keys: Deno.KvKey[]): Promise<Deno.KvEntryMaybe<T>[]> {
    const batches: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
    for (let i = 0; i < keys.length; i += 10) {
      batches.push(this.#kv.getMany<T[]>(keys.slice(i, i + 10)));
    }
    return (await Promise.all(batches)).flat();
  }

  async getSession(tokenHash: string, now: number): Promise<SessionRecord | null> {
    const session = (await this.#kv.get<SessionRecord>(["session", tokenHash])).value;
    return session && session.expiresAt > now ? session : null;
  }

  async deleteSession(tokenHash: string): Promise<void> {
    const session = (await this.#kv.get<SessionRecord>(["session", tokenHash])).value;
    const op = this.#atomic().delete(["session", tokenHash]);
    if (session) op.delete(["user_session", session.user, tokenHash]);
    await this.#logChange(op, { revoked: [tokenHash] }).commit();
  }

  // A record whose host is not an address or a DNS name was written before hosts were checked:
  // it reads as absent (the peer re-announces when it reconnects), so no reply carries it.
  async getPeer(user: string): Promise<PeerRecord | null> {
    const record = (await this.#kv.get<PeerRecord>(["peer", user])).value;
    return record && isHost(record.host) ? record : null;
  }

  async listPeers(): Promise<Map<string, PeerRecord>> {
    const peers = new Map<string, PeerRecord>();
    for await (const entry of this.#kv.list<PeerRecord>({ prefix: ["peer"] })) {
      if (isHost(entry.value.host)) peers.set(entry.key[1] as string, entry.value);
    }
    return peers;
  }

  async putPeer(user: string, record: PeerRecord): Promise<void> {
    await this.#logChange(this.#atomic().set(["peer", user], record), { peers: [user] })
      .commit();
  }

  async putShares(
    user: string,
    files: FileManifest[],
    replace: boolean,
    now = Date.now(),
  ): Promise<HolderKey[]> {
    // A name listed twice counts once (the last entry), so every holder row stays removable.
    files = [...new Map(files.map((f) => [f.name, f])).values()];
    const versions = files.map((file) => ({ file, id: manifestId(file) }));
    // A commit fails only when a manifest head it checks was collected meanwhile: write it again.
    for (let attempt = 0;; attempt++) {
      const changed = await this.#tryPutShares(user, versions, replace, now);
      if (changed) return changed;
      if (attempt === 4) throw new Error("Cannot save shares: manifests keep being collected");
    }
  }

  async #tryPutShares(
    user: string,
    versions: { file: FileManifest; id: string }[],
    replace: boolean,
    now: number,
  ): Promise<HolderKey[] | null> {
    const old = new Map<string, ShareRecord>();
    const stamps = new Map<string, string>();
    for await (const entry of this.#kv.list<ShareRecord>({ prefix: ["share", user] })) {
      old.set(entry.key[2] as string, entry.value);
      stamps.set(entry.key[2] as string, entry.versionstamp);
    }
    // Each commit checks the share entries it read, so a concurrent announce of the same user
    // (on another tracker) makes it fail and start again from what that one wrote.
    const checkShare = (name: string) => (op: Deno.AtomicOperation) =>
      op.check({ key: ["share", user, name], versionstamp: stamps.get(name) ?? null });
    const wanted = new Map<string, FileManifest>();
    for (const { file, id } of versions) {
      if (old.get(file.name)?.id !== id) wanted.set(id, file);
    }
    const heads = await this.#putManifests(wanted);
    // Each file's writes go in one commit with the check on its manifest head.
    const groups: WriteGroup[] = [];
    const kept = new Set<string>();
    const withdraw = (name: string, id: string) => [
      (op: Deno.AtomicOperation) => op.delete(["holder", name, id, user]),
      (op: Deno.AtomicOperation) => op.delete(["version_holder", id, user]),
      (op: Deno.AtomicOperation) => op.set(["manifest_orphan", id], now),
    ];
    for (const { file, id } of versions) {
      kept.add(file.name);
      const before = old.get(file.name);
      if (before?.id === id) continue;
      const group = [checkShare(file.name), ...(before ? withdraw(file.name, before.id) : [])];
      const holders: HolderKey[] = [[file.name, id, user]];
      if (before) holders.push([file.name, before.id, user]);
      const holder: HolderRecord = {
        size: file.size,
        chunkSize: file.chunkSize,
        sha256: file.sha256,
      };
      const headStamp = heads.get(id)!;
      group.push(
        (op) => op.check({ key: ["manifest", id], versionstamp: headStamp }),
        (op) => op.delete(["manifest_orphan", id]),
        (op) => op.set(["holder", file.name, id, user], holder),
        (op) => op.set(["version_holder", id, user], file.name),
        (op) => op.set(["share", user, file.name], { id } satisfies ShareRecord),
      );
      groups.push({ writes: group, holders });
    }
    if (replace) {
      for (const [name, share] of old) {
        if (kept.has(name)) continue;
        groups.push({
          writes: [
            checkShare(name),
            ...withdraw(name, share.id),
            (op) => op.delete(["share", user, name]),
          ],
          holders: [[name, share.id, user]],
        });
      }
    }
    const ok = await this.#commitGroups(groups);
    return ok ? groups.flatMap((g) => g.holders) : null;
  }

  async listHolders(name?: string): Promise<HolderRow[]> {
    const rows: HolderRow[] = [];
    const prefix = name === undefined ? ["holder"] : ["holder", name];
    for await (const entry of this.#kv.list<HolderRecord>({ prefix })) {
      const [, fileName, id, user] = entry.key as [string, string, string, string];
      rows.push({ name: fileName, id, user, ...entry.value });
    }
    return rows;
  }

  async getChunkHashes(id: string): Promise<string[] | null> {
    const head = (await this.#kv.get<ManifestHead>(["manifest", id])).value;
    if (!head) return null;
    const hashes: string[] = [];
    for await (const entry of this.#kv.list<Uint8Array>({ prefix: ["manifest", id] })) {
      const part = entry.value;
      for (let i = 0; i < part.length; i += 32) hashes.push(part.subarray(i, i + 32).toHex());
    }
    return hashes.length === head.chunkCount ? hashes : null;
  }

  async countOutcome(
    outcome: { downloader: string; source: string; id: string; kind: keyof PeerStats },
    amount: number,
    now: number,
  ): Promise<boolean> {
    const { downloader, source, id, kind } = outcome;
    const key = ["reported", downloader, source, id];
    const pairKey = ["pair_counted", downloader, source, kind];
    const milli = BigInt(Math.max(0, Math.round(amount * 1000)));
    // A race with another outcome of the same pair (another version) fails a check: read again.
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const [seen, pair] = await this.#kv.getMany<[{ at: number }, number[]]>([key, pairKey]);
      if (seen.value && now - seen.value.at < REPORT_WINDOW_MS) return false;
      const recent = (pair.value ?? []).filter((at) => now - at < REPORT_WINDOW_MS);
      if (recent.length >= MAX_COUNTED_PER_PAIR) return false;
      const op = this.#atomic()
        .check(seen, pair)
        .set(key, { at: now }, { expireIn: REPORT_WINDOW_MS })
        .set(pairKey, [...recent, now], { expireIn: REPORT_WINDOW_MS })
        .sum(["stat", source, kind], milli);
      if (kind === "downloads") op.sum(["vstat", id, "downloads"], milli);
      if ((await this.#logChange(op, { counts: [[source, id]] }).commit()).ok) return true;
      await pause(attempt);
    }
    return false;
  }

  async putProgressGrants(
    grants: { user: string; name: string; id: string; until: number }[],
  ): Promise<void> {
    const now = Date.now();
    for (let i = 0; i < grants.length; i += MAX_MUTATIONS) {
      const op = this.#atomic();
      for (const { user, name, id, until } of grants.slice(i, i + MAX_MUTATIONS)) {
        op.set(["progress_grant", user, id, name], until, { expireIn: Math.max(1, until - now) });
      }
      await op.commit();
    }
  }

  async progressGrant(user: string, name: string, id: string): Promise<number> {
    return (await this.#kv.get<number>(["progress_grant", user, id, name])).value ?? 0;
  }

  async getVersionDownloads(ids: string[]): Promise<Map<string, number>> {
    const entries = await this.#getMany<Deno.KvU64>(ids.map((id) => ["vstat", id, "downloads"]));
    return new Map(ids.map((id, i) => [id, Number(entries[i]?.value?.value ?? 0n) / 1000]));
  }

  async collectManifests(now: number, limit: number): Promise<number> {
    let removed = 0;
    let seen = 0;
    for await (const entry of this.#kv.list<number>({ prefix: ["manifest_orphan"] })) {
      if (++seen > limit * 4 || removed >= limit) break;
      const id = entry.key[1] as string;
      if (now - entry.value < MANIFEST_GRACE_MS) continue;
      const held = this.#kv.list({ prefix: ["version_holder", id] }, { limit: 1 });
      if (!(await held.next()).done) {
        await this.#atomic().check(entry).delete(entry.key).commit();
        continue;
      }
      // Parts and head in one commit (at most 8 parts), only if nobody announced it meanwhile.
      const op = this.#atomic().check(entry).delete(entry.key).delete(["manifest", id]);
      for await (const part of this.#kv.list({ prefix: ["manifest", id] })) op.delete(part.key);
      if ((await op.commit()).ok) removed++;
    }
    return removed;
  }

  async addStat(user: string, kind: keyof PeerStats, amount: number): Promise<void> {
    const milli = BigInt(Math.max(0, Math.round(amount * 1000)));
    await this.#logChange(this.#atomic().sum(["stat", user, kind], milli), { counts: [[user, ""]] })
      .commit();
  }

  async getStats(user: string): Promise<PeerStats> {
    const [downloads, failures] = await this.#kv.getMany<[Deno.KvU64, Deno.KvU64]>([
      ["stat", user, "downloads"],
      ["stat", user, "failures"],
    ]);
    return {
      downloads: Number(downloads.value?.value ?? 0n) / 1000,
      failures: Number(failures.value?.value ?? 0n) / 1000,
    };
  }

  async ticketKeys(candidate: TicketKeyRecord): Promise<TicketKeyRecord> {
    const key = ["ticket_keys"];
    for (let attempt = 0; attempt < 20; attempt++) {
      const stored = await this.#kv.get<TicketKeyRecord>(key);
      if (stored.value) return stored.value;
      try {
        const result = await this.#atomic().check(stored).set(key, candidate).commit();
        if (result.ok) return candidate;
      } catch (error) {
        // Another connection to the same SQLite file holds its write lock: wait and look again.
        if (!(error instanceof Error && /database is locked/.test(error.message))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10 * (attempt + 1)));
      }
    }
    throw new Error("Cannot store the ticket keys: KV commit failed");
  }

  /** The same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#kv.close();
    await Promise.resolve();
  }

  /**
   * Writes the manifests that are not stored yet — every part first (many to a commit), then the
   * heads (many to a commit, each checked absent) — and returns every head's versionstamp.
   */
  async #putManifests(manifests: Map<string, FileManifest>): Promise<Map<string, string>> {
    const ids = [...manifests.keys()];
    const existing = await this.#getMany(ids.map((id) => ["manifest", id]));
    const stamps = new Map<string, string>();
    const missing: string[] = [];
    ids.forEach((id, i) => {
      const stamp = existing[i]?.versionstamp;
      if (stamp) stamps.set(id, stamp);
      else missing.push(id);
    });
    if (missing.length === 0) return stamps;
    const parts: Array<{ write: (op: Deno.AtomicOperation) => void; bytes: number }> = [];
    const heads: Array<[string, ManifestHead]> = [];
    for (const id of missing) {
      const file = manifests.get(id)!;
      const count = Math.ceil(file.chunkHashes.length / HASHES_PER_PART);
      for (let part = 0; part < count; part++) {
        const slice = file.chunkHashes.slice(part * HASHES_PER_PART, (part + 1) * HASHES_PER_PART);
        const bytes = new Uint8Array(slice.length * 32);
        slice.forEach((hex, i) => bytes.set(Uint8Array.fromHex(hex), i * 32));
        parts.push({ write: (op) => op.set(["manifest", id, part], bytes), bytes: bytes.length });
      }
      heads.push([id, {
        size: file.size,
        chunkSize: file.chunkSize,
        sha256: file.sha256,
        chunkCount: file.chunkHashes.length,
        parts: count,
      }]);
    }
    // Parts: at most 400 writes and 512 KiB to a commit (KV allows 800 KiB).
    for (let i = 0; i < parts.length;) {
      const op = this.#atomic();
      let n = 0;
      let bytes = 0;
      while (
        i < parts.length && n < MAX_MUTATIONS && (n === 0 || bytes + parts[i]!.bytes < 512 * 1024)
      ) {
        parts[i]!.write(op);
        bytes += parts[i]!.bytes;
        n++;
        i++;
      }
      if (!(await op.commit()).ok) throw new Error("Cannot save shares: KV commit failed");
    }
    // Heads: each checked absent; a batch another writer beat to one of them goes one by one.
    for (let i = 0; i < heads.length; i += MAX_CHECKS) {
      const batch = heads.slice(i, i + MAX_CHECKS);
      const op = this.#atomic();
      for (const [id, head] of batch) {
        op.check({ key: ["manifest", id], versionstamp: null }).set(["manifest", id], head);
      }
      const result = await op.commit();
      if (result.ok) {
        for (const [id] of batch) stamps.set(id, result.versionstamp);
        continue;
      }
      for (const [id, head] of batch) {
        const key = ["manifest", id];
        const one = await this.#atomic().check({ key, versionstamp: null }).set(key, head)
          .commit();
        stamps.set(id, one.ok ? one.versionstamp : (await this.#kv.get(key)).versionstamp ?? "");
      }
    }
    return stamps;
  }

  /**
   * Commits groups of writes, several groups per commit, each commit with a change entry naming
   * the holder rows it changed; false if a check failed.
   */
  async #commitGroups(groups: WriteGroup[]): Promise<boolean> {
    let ok = true;
    for (let i = 0; i < groups.length;) {
      const op = this.#atomic();
      let mutations = 1;
      let bytes = 0;
      const holders: HolderKey[] = [];
      let count = 0;
      // KV allows 100 checks to a commit; each group has at most 2.
      while (i < groups.length && count < MAX_CHECKS / 2) {
        const group = groups[i]!;
        const size = group.holders.reduce((n, k) => n + k.join("").length * 3 + 16, 0);
        if (holders.length > 0 && mutations + group.writes.length > MAX_MUTATIONS) break;
        if (holders.length > 0 && bytes + size > CHANGE_ENTRY_BYTES) break;
        for (const write of group.writes) write(op);
        mutations += group.writes.length;
        bytes += size;
        holders.push(...group.holders);
        count++;
        i++;
      }
      const result = await this.#logChange(op, { holders }).commit();
      if (!result.ok) ok = false;
    }
    return ok;
  }

  async getHolders(keys: HolderKey[]): Promise<(HolderRow | null)[]> {
    const entries = await this.#getMany<HolderRecord>(keys.map((k) => ["holder", ...k]));
    return keys.map(([name, id, user], i) => {
      const value = entries[i]?.value;
      return value ? { name, id, user, ...value } : null;
    });
  }

  async getPeers(users: string[]): Promise<(PeerRecord | null)[]> {
    const entries = await this.#getMany<PeerRecord>(users.map((u) => ["peer", u]));
    return entries.map((e) => e.value && isHost(e.value.host) ? e.value : null);
  }

  async listAlive(): Promise<Map<string, AliveRecord>> {
    const alive = new Map<string, AliveRecord>();
    for await (const entry of this.#kv.list<AliveRecord>({ prefix: ["alive"] })) {
      alive.set(entry.key[1] as string, entry.value);
    }
    return alive;
  }

  async listStats(): Promise<Map<string, PeerStats>> {
    const stats = new Map<string, PeerStats>();
    for await (const entry of this.#kv.list<Deno.KvU64>({ prefix: ["stat"] })) {
      const [, user, kind] = entry.key as [string, string, keyof PeerStats];
      const mine = stats.get(user) ?? { downloads: 0, failures: 0 };
      mine[kind] = Number(entry.value.value) / 1000;
      stats.set(user, mine);
    }
    return stats;
  }

  async listVersionDownloads(): Promise<Map<string, number>> {
    const downloads = new Map<string, number>();
    for await (const entry of this.#kv.list<Deno.KvU64>({ prefix: ["vstat"] })) {
      downloads.set(entry.key[1] as string, Number(entry.value.value) / 1000);
    }
    return downloads;
  }

  async putAlive(beats: Map<string, AliveRecord>): Promise<void> {
    const all = [...beats];
    // Each beat is about 100 bytes of change entry; 300 to a commit stays far below the limits.
    for (let i = 0; i < all.length; i += 300) {
      const slice = all.slice(i, i + 300);
      const op = this.#atomic();
      for (const [user, record] of slice) op.set(["alive", user], record);
      this.#logChange(op, { alive: slice.map(([u, r]) => [u, r.session, r.lastSeen]) });
      await op.commit();
    }
  }

  async changeWriters(): Promise<Map<string, number>> {
    const writers = new Map<string, number>();
    for await (const entry of this.#kv.list<number>({ prefix: ["change_writer"] })) {
      writers.set(entry.key[1] as string, entry.value);
    }
    return writers;
  }

  async readChanges(writer: string, from: number, limit: number): Promise<LoggedChange[]> {
    const changes: LoggedChange[] = [];
    const entries = this.#kv.list<StoredChange>(
      { prefix: ["change", writer], start: ["change", writer, from] },
      { limit },
    );
    for await (const entry of entries) {
      if (typeof entry.key[2] !== "number") continue;
      changes.push({ writer, seq: entry.key[2], ...entry.value });
    }
    return changes;
  }

  async getChanges(writer: string, seqs: number[]): Promise<(LoggedChange | null)[]> {
    const entries = await this.#getMany<StoredChange>(seqs.map((seq) => ["change", writer, seq]));
    return entries.map((e, i) => e.value ? { writer, seq: seqs[i]!, ...e.value } : null);
  }

  async lastChange(writer: string): Promise<LoggedChange | null> {
    const entries = this.#kv.list<StoredChange>({ prefix: ["change", writer] }, {
      limit: 1,
      reverse: true,
    });
    for await (const entry of entries) {
      if (typeof entry.key[2] === "number") return { writer, seq: entry.key[2], ...entry.value };
    }
    return null;
  }

  async loginFailures(keys: string[]): Promise<number[][]> {
    const entries = await this.#getMany<number[]>(keys.map((k) => ["login_failures", k]));
    return entries.map((e) => e.value ?? []);
  }

  updateLoginFailures(
    key: string,
    update: (times: number[]) => number[] | null,
    ttlMs: number,
  ): Promise<void> {
    const kvKey = ["login_failures", key];
    return this.#oneAtATime(`login_failures\u0000${key}`, async () => {
      for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
        const entry = await this.#kv.get<number[]>(kvKey);
        const next = update(entry.value ?? []);
        const op = this.#atomic().check(entry);
        if (next === null) op.delete(kvKey);
        else op.set(kvKey, next, { expireIn: Math.max(1, ttlMs) });
        if ((await op.commit()).ok) return;
        await pause(attempt);
      }
      throw new Error("Cannot record a login failure: the key keeps changing");
    });
  }

  /**
   * Runs read-modify-write `task`s on one key one after another in this process, so they never
   * fail each other's checks; only other processes' writes can (and are retried).
   */
  #oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.#queues.get(key) ?? Promise.resolve();
    const run = before.catch(() => {}).then(task);
    const tail = run.catch(() => {});
    this.#queues.set(key, tail);
    tail.then(() => {
      if (this.#queues.get(key) === tail) this.#queues.delete(key);
    });
    return run;
  }

  async takeRegistration(
    group: string,
    bucket: { perAddress: number; refillMs: number },
    now: number,
  ): Promise<number> {
    // A token bucket shared by trackers without a queue of read-modify-writes: the tokens used are
    // an atomic sum (takes never conflict), and the record only says from when the bucket fills,
    // rewritten (with a check) only when the bucket is full anyway. Registrations running at once
    // may take as many tokens more as run at once.
    const recordKey = ["registrations", group];
    const usedKey = ["registrations_used", group];
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const [record, usedEntry] = await this.#kv.getMany<
        [{ start: number; base: number }, Deno.KvU64]
      >(
        [recordKey, usedKey],
      );
      const used = Number(usedEntry.value?.value ?? 0n);
      const state = record.value;
      const tokens = state
        ? bucket.perAddress + (now - state.start) / bucket.refillMs - (used - state.base)
        : Infinity;
      if (tokens > bucket.perAddress) {
        // Full (or new): start counting afresh from now, then take.
        const result = await this.#atomic().check(record)
          .set(recordKey, { start: now, base: used }, {
            expireIn: bucket.perAddress * bucket.refillMs,
          })
          .commit();
        if (!result.ok) {
          await pause(attempt);
          continue;
        }
      } else if (tokens < 1) {
        return Math.ceil((1 - tokens) * bucket.refillMs);
      }
      await this.#atomic().sum(usedKey, 1n).commit();
      return 0;
    }
    throw new Error("Cannot take a registration: the bucket keeps changing");
  }

  async putGrants(
    grants: { downloader: string; id: string; source: string; until: number }[],
  ): Promise<void> {
    const now = Date.now();
    for (let i = 0; i < grants.length; i += MAX_MUTATIONS) {
      const op = this.#atomic();
      for (const { downloader, id, source, until } of grants.slice(i, i + MAX_MUTATIONS)) {
        op.set(["grant", downloader, id, source], until, { expireIn: Math.max(1, until - now) });
      }
      await op.commit();
    }
  }

  async useGrant(downloader: string, id: string, source: string, now: number): Promise<boolean> {
    const entry = await this.#kv.get<number>(["grant", downloader, id, source]);
    if (entry.value === null) return false;
    const result = await this.#atomic().check(entry).delete(entry.key).commit();
    return result.ok && entry.value > now;
  }

  async putPartialHolders(updates: PartialUpdate[]): Promise<void> {
    // Records and the change entry that carries them: about 48 KiB of records to a commit.
    for (let i = 0; i < updates.length;) {
      const op = this.#atomic();
      const batch: PartialUpdate[] = [];
      let bytes = 0;
      while (i < updates.length && batch.length < MAX_MUTATIONS - 2) {
        const update = updates[i]!;
        const size = JSON.stringify(update).length + 16;
        if (batch.length > 0 && bytes + size > CHANGE_ENTRY_BYTES) break;
        const key = ["partial", update.name, update.id, update.user];
        if (update.holder) op.set(key, update, { expireIn: PARTIAL_HOLDER_TTL_MS });
        else op.delete(key);
        batch.push(update);
        bytes += size;
        i++;
      }
      await this.#logChange(op, { partial: batch }).commit();
    }
  }

  async listPartialHolders(): Promise<PartialUpdate[]> {
    const updates: PartialUpdate[] = [];
    for await (const entry of this.#kv.list<PartialUpdate>({ prefix: ["partial"] })) {
      updates.push(entry.value);
    }
    return updates;
  }

  async addCounters(
    tracker: string,
    counts: Map<string, number>,
    aliveMs?: number,
  ): Promise<void> {
    const all = [...counts].filter(([, n]) => n > 0);
    if (aliveMs !== undefined) {
      // The value is when it stops counting: an expired key may still be read for a while.
      await this.#atomic()
        .set(["tracker_alive", tracker], Date.now() + aliveMs, { expireIn: aliveMs })
        .commit();
    }
    for (let i = 0; i < all.length; i += MAX_MUTATIONS) {
      const op = this.#atomic();
      for (const [name, n] of all.slice(i, i + MAX_MUTATIONS)) {
        op.sum(["counter", tracker, name], BigInt(Math.round(n)));
      }
      await op.commit();
    }
  }

  async putTransfers(writer: string, first: number, transfers: StoredTransfer[]): Promise<void> {
    for (let i = 0; i < transfers.length; i += MAX_MUTATIONS - 1) {
      const op = this.#atomic();
      transfers.slice(i, i + MAX_MUTATIONS - 1).forEach((t, j) => {
        op.set(["transfer", writer, first + i + j], t, { expireIn: TRANSFER_RETENTION_MS });
      });
      op.set(["transfer_writer", writer], Date.now(), { expireIn: TRANSFER_RETENTION_MS });
      await op.commit();
    }
  }

  async transferWriters(): Promise<string[]> {
    const writers: string[] = [];
    for await (const entry of this.#kv.list({ prefix: ["transfer_writer"] })) {
      writers.push(entry.key[1] as string);
    }
    return writers;
  }

  async listTransfers(
    writer: string,
    from: number,
    limit: number,
  ): Promise<{ n: number; transfer: StoredTransfer }[]> {
    const out: { n: number; transfer: StoredTransfer }[] = [];
    const entries = this.#kv.list<StoredTransfer>(
      { prefix: ["transfer", writer], start: ["transfer", writer, from] },
      { limit },
    );
    for await (const entry of entries) {
      out.push({ n: entry.key[2] as number, transfer: entry.value });
    }
    return out;
  }

  async liveTrackers(): Promise<Set<string>> {
    const live = new Set<string>();
    const now = Date.now();
    for await (const entry of this.#kv.list<number>({ prefix: ["tracker_alive"] })) {
      if (entry.value > now) live.add(entry.key[1] as string);
    }
    return live;
  }

  async retireTracker(tracker: string): Promise<void> {
    await this.#atomic().delete(["tracker_alive", tracker]).commit();
  }

  async readCounters(): Promise<Map<string, Map<string, number>>> {
    const counters = new Map<string, Map<string, number>>();
    for await (const entry of this.#kv.list<Deno.KvU64>({ prefix: ["counter"] })) {
      const [, tracker, name] = entry.key as [string, string, string];
      let mine = counters.get(tracker);
      if (!mine) counters.set(tracker, mine = new Map());
      mine.set(name, Number(entry.value.value));
    }
    return counters;
  }
}
