/**
 * The tracker's state, behind the {@link TrackerStore} interface, kept in Deno KV by
 * {@link KvTrackerStore} (a local SQLite file by default, `:memory:` in tests, or a remote KV URL).
 *
 * Key layout (values stay under KV's 64 KiB, keys under 2 KiB):
 *
 * | key                                   | value                                   |
 * |---------------------------------------|-----------------------------------------|
 * | `["user", name]`                      | {@link UserRecord} (salted scrypt hash) |
 * | `["session", sha256(token)]`          | {@link SessionRecord}, with `expireIn`  |
 * | `["user_session", user, sha256(token)]` | the same record, to list a user's sessions |
 * | `["peer", user]`                      | {@link PeerRecord}: address, liveness   |
 * | `["stat", user, "downloads"]`         | `Deno.KvU64` in thousandths, summed atomically |
 * | `["stat", user, "failures"]`          | `Deno.KvU64` in thousandths, summed atomically |
 * | `["holder", name, sha256, user]`      | {@link HolderRecord}: who has which file|
 * | `["share", user, name]`               | {@link ShareRecord}: reverse index      |
 * | `["manifest", sha256, chunkSize]`     | {@link ManifestHead}                    |
 * | `["manifest", sha256, chunkSize, i]`  | part `i` of the chunk hashes: up to 1024 raw 32-byte digests |
 * | `["ticket_keys"]`                     | {@link TicketKeyRecord}: the Ed25519 pair that signs read tickets |
 *
 * A manifest is content-addressed and written parts first, head last, so a head that exists
 * always has all its parts.
 *
 * @module
 */
import type { FileManifest } from "../protocol/mod.ts";
import type { PasswordHash } from "./password.ts";

/** A registered account. */
export interface UserRecord {
  /** The salted password hash. */
  password: PasswordHash;
  /** When it was created, ms since the epoch. */
  createdAt: number;
}

/** A live login session. */
export interface SessionRecord {
  /** The user it belongs to. */
  user: string;
  /** When it stops being valid, ms since the epoch. */
  expiresAt: number;
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

/** That a user holds one version of a file. */
export interface HolderRecord {
  /** File size in bytes. */
  size: number;
  /** Chunk size the holder indexed with. */
  chunkSize: number;
}

/** The reverse index entry: which version of `name` a user shares. */
export interface ShareRecord {
  /** SHA-256 of the whole file. */
  sha256: string;
  /** Chunk size the holder indexed with. */
  chunkSize: number;
}

/** The head of a stored manifest. */
export interface ManifestHead {
  /** File size in bytes. */
  size: number;
  /** How many chunks. */
  chunkCount: number;
  /** How many parts the chunk hashes span. */
  parts: number;
}

/** One holder row, as listed. */
export interface HolderRow extends HolderRecord {
  /** File name. */
  name: string;
  /** SHA-256 of the whole file. */
  sha256: string;
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
  /** Creates a user; false if the name is taken (exactly one of concurrent calls wins). */
  createUser(name: string, record: UserRecord): Promise<boolean>;
  /** The user's record, or null. */
  getUser(name: string): Promise<UserRecord | null>;
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
  /** The peer's address record, or null. */
  getPeer(user: string): Promise<PeerRecord | null>;
  /** Every peer's address record. */
  listPeers(): Promise<Map<string, PeerRecord>>;
  /** Stores the peer's address record. */
  putPeer(user: string, record: PeerRecord): Promise<void>;
  /** Records what `user` shares; with `replace`, forgets what it shared before. */
  putShares(user: string, files: FileManifest[], replace: boolean): Promise<void>;
  /** Every holder of every file, or of the files named `name`. */
  listHolders(name?: string): Promise<HolderRow[]>;
  /** The chunk hashes of a stored manifest, or null. */
  getChunkHashes(sha256: string, chunkSize: number): Promise<string[] | null>;
  /** Adds to a user's downloads or failures (fractions count to a thousandth). */
  addStat(user: string, kind: keyof PeerStats, amount: number): Promise<void>;
  /** A user's counts (zero when none). */
  getStats(user: string): Promise<PeerStats>;
  /**
   * The ticket signing keys: the stored pair, or `candidate` once stored. Of concurrent first
   * calls (several trackers on one KV) exactly one pair is stored, and every caller gets it.
   */
  ticketKeys(candidate: TicketKeyRecord): Promise<TicketKeyRecord>;
}

const HASHES_PER_PART = 1024;

const MAX_MUTATIONS = 400;

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

  private constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Opens the store at a file path, `:memory:`, or a remote KV URL. */
  static async open(path: string): Promise<KvTrackerStore> {
    return new KvTrackerStore(await Deno.openKv(path));
  }

  async createUser(name: string, record: UserRecord): Promise<boolean> {
    const key = ["user", name];
    const result = await this.#kv.atomic().check({ key, versionstamp: null }).set(key, record)
      .commit();
    return result.ok;
  }

  async getUser(name: string): Promise<UserRecord | null> {
    return (await this.#kv.get<UserRecord>(["user", name])).value;
  }

  async putSession(tokenHash: string, record: SessionRecord, now: number): Promise<void> {
    const ttl = Math.max(1, record.expiresAt - now);
    await this.#kv.atomic()
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
    const op = this.#kv.atomic().delete(["session", tokenHash]);
    if (session) op.delete(["user_session", session.user, tokenHash]);
    await op.commit();
  }

  async getPeer(user: string): Promise<PeerRecord | null> {
    return (await this.#kv.get<PeerRecord>(["peer", user])).value;
  }

  async listPeers(): Promise<Map<string, PeerRecord>> {
    const peers = new Map<string, PeerRecord>();
    for await (const entry of this.#kv.list<PeerRecord>({ prefix: ["peer"] })) {
      peers.set(entry.key[1] as string, entry.value);
    }
    return peers;
  }

  async putPeer(user: string, record: PeerRecord): Promise<void> {
    await this.#kv.set(["peer", user], record);
  }

  async putShares(user: string, files: FileManifest[], replace: boolean): Promise<void> {
    // A name listed twice counts once (the last entry), so every holder row stays removable.
    files = [...new Map(files.map((f) => [f.name, f])).values()];
    const old = new Map<string, ShareRecord>();
    for await (const entry of this.#kv.list<ShareRecord>({ prefix: ["share", user] })) {
      old.set(entry.key[2] as string, entry.value);
    }
    for (const file of files) await this.#putManifest(file);

    const writes: Array<(op: Deno.AtomicOperation) => void> = [];
    const kept = new Set<string>();
    for (const file of files) {
      kept.add(file.name);
      const before = old.get(file.name);
      if (before && before.sha256 === file.sha256 && before.chunkSize === file.chunkSize) continue;
      if (before) writes.push((op) => op.delete(["holder", file.name, before.sha256, user]));
      const holder: HolderRecord = { size: file.size, chunkSize: file.chunkSize };
      const share: ShareRecord = { sha256: file.sha256, chunkSize: file.chunkSize };
      writes.push((op) => op.set(["holder", file.name, file.sha256, user], holder));
      writes.push((op) => op.set(["share", user, file.name], share));
    }
    if (replace) {
      for (const [name, share] of old) {
        if (kept.has(name)) continue;
        writes.push((op) => op.delete(["holder", name, share.sha256, user]));
        writes.push((op) => op.delete(["share", user, name]));
      }
    }
    await this.#commitInBatches(writes);
  }

  async listHolders(name?: string): Promise<HolderRow[]> {
    const rows: HolderRow[] = [];
    const prefix = name === undefined ? ["holder"] : ["holder", name];
    for await (const entry of this.#kv.list<HolderRecord>({ prefix })) {
      const [, fileName, sha256, user] = entry.key as [string, string, string, string];
      rows.push({ name: fileName, sha256, user, ...entry.value });
    }
    return rows;
  }

  async getChunkHashes(sha256: string, chunkSize: number): Promise<string[] | null> {
    const head = (await this.#kv.get<ManifestHead>(["manifest", sha256, chunkSize])).value;
    if (!head) return null;
    const hashes: string[] = [];
    for await (
      const entry of this.#kv.list<Uint8Array>({ prefix: ["manifest", sha256, chunkSize] })
    ) {
      const part = entry.value;
      for (let i = 0; i < part.length; i += 32) hashes.push(part.subarray(i, i + 32).toHex());
    }
    return hashes.length === head.chunkCount ? hashes : null;
  }

  async addStat(user: string, kind: keyof PeerStats, amount: number): Promise<void> {
    const milli = BigInt(Math.max(0, Math.round(amount * 1000)));
    await this.#kv.atomic().sum(["stat", user, kind], milli).commit();
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
    for (let attempt = 0; attempt < 3; attempt++) {
      const stored = await this.#kv.get<TicketKeyRecord>(key);
      if (stored.value) return stored.value;
      const result = await this.#kv.atomic().check(stored).set(key, candidate).commit();
      if (result.ok) return candidate;
    }
    throw new Error("Cannot store the ticket keys: KV commit failed");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#kv.close();
    await Promise.resolve();
  }

  async #putManifest(file: FileManifest): Promise<void> {
    const headKey = ["manifest", file.sha256, file.chunkSize];
    if ((await this.#kv.get(headKey)).versionstamp !== null) return;
    const parts = Math.ceil(file.chunkHashes.length / HASHES_PER_PART);
    const writes: Array<(op: Deno.AtomicOperation) => void> = [];
    for (let part = 0; part < parts; part++) {
      const slice = file.chunkHashes.slice(part * HASHES_PER_PART, (part + 1) * HASHES_PER_PART);
      const bytes = new Uint8Array(slice.length * 32);
      slice.forEach((hex, i) => bytes.set(Uint8Array.fromHex(hex), i * 32));
      writes.push((op) => op.set([...headKey, part], bytes));
    }
    await this.#commitInBatches(writes);
    const head: ManifestHead = { size: file.size, chunkCount: file.chunkHashes.length, parts };
    await this.#kv.set(headKey, head);
  }

  async #commitInBatches(writes: Array<(op: Deno.AtomicOperation) => void>): Promise<void> {
    for (let i = 0; i < writes.length; i += MAX_MUTATIONS) {
      const op = this.#kv.atomic();
      for (const write of writes.slice(i, i + MAX_MUTATIONS)) write(op);
      const result = await op.commit();
      if (!result.ok) throw new Error("Cannot save shares: KV commit failed");
    }
  }
}
