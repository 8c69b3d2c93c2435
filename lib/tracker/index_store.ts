/**
 * The index role of the tracker's store: where peers listen and when they were last heard from,
 * who holds which version of which file (holder rows, the reverse share index, manifests),
 * partial holders, and the change log every tracker tails to keep its in-memory index current;
 * behind {@link IndexStore}, kept in KV by {@link KvIndexStore} (keys `peer`, `alive`, `holder`,
 * `share`, `version_holder`, `manifest`, `manifest_orphan`, `partial`, and `change` read back;
 * see the table in `kv_plumbing.ts`).
 *
 * Every write here that changes what the index shows appends a change entry in the same commit
 * (`change_log.ts`).
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
import type { LoggedChange, StoredChange } from "./change_log.ts";
import {
  batches,
  CHANGE_ENTRY_BYTES,
  type KvPlumbing,
  MAX_CHECKS,
  RETRY,
  retrying,
  StoreError,
} from "./kv_plumbing.ts";
import { PARTIAL_HOLDER_TTL_MS, type PartialUpdate } from "./partial_holders.ts";

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

/** A holder row's key as a tuple: `[name, id, user]`. */
export type HolderKey = [string, string, string];

/** How long a manifest no holder announces is kept before garbage collection removes it. */
export const MANIFEST_GRACE_MS = 24 * 3600_000;

/** Addresses, liveness, holders, manifests, partial holders and the change log. */
export interface IndexStore {
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
  /**
   * Removes up to `limit` manifests whose last holder left more than {@link MANIFEST_GRACE_MS}
   * before `now` and that nobody holds again; returns how many it removed.
   */
  collectManifests(now: number, limit: number): Promise<number>;
  /** Holder rows by `[name, id, user]`, null where there is none. */
  getHolders(keys: HolderKey[]): Promise<(HolderRow | null)[]>;
  /** Address records of `users`, null where there is none (or its host is not a host). */
  getPeers(users: string[]): Promise<(PeerRecord | null)[]>;
  /** Every user's last written heartbeat. */
  listAlive(): Promise<Map<string, AliveRecord>>;
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
  /** Writes partial-holder updates, many to a commit, each commit with its change entry. */
  putPartialHolders(updates: PartialUpdate[]): Promise<void>;
  /** Every partial holder written in the last {@link PARTIAL_HOLDER_TTL_MS} (and not gone). */
  listPartialHolders(): Promise<PartialUpdate[]>;
}

/** One commit's worth of writes and the holder keys they change. */
interface WriteGroup {
  writes: Array<(op: Deno.AtomicOperation) => void>;
  holders: HolderKey[];
}

/** Chunk hashes in one manifest part. */
const HASHES_PER_PART = 1024;

/** Bytes of manifest parts in one commit at most (KV allows 800 KiB). */
const PART_BYTES = 512 * 1024;

/** Attempts of an announce whose manifests keep being collected under it. */
const SHARE_ATTEMPTS = 5;

/**
 * {@link IndexStore} on Deno KV.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKvStores } from "./store.ts";
 * await using stores = await openKvStores(":memory:");
 * assert.deepEqual(await stores.index.listHolders(), []);
 * ```
 */
export class KvIndexStore implements IndexStore {
  readonly #kv: KvPlumbing;

  /** The index kept through `plumbing`. */
  constructor(plumbing: KvPlumbing) {
    this.#kv = plumbing;
  }

  // A record whose host is not an address or a DNS name was written before hosts were checked:
  // it reads as absent (the peer re-announces when it reconnects), so no reply carries it.
  /** A peer's address record. */
  async getPeer(user: string): Promise<PeerRecord | null> {
    const record = (await this.#kv.kv.get<PeerRecord>(["peer", user])).value;
    return record && isHost(record.host) ? record : null;
  }

  /** Every peer's address record. */
  async listPeers(): Promise<Map<string, PeerRecord>> {
    const peers = new Map<string, PeerRecord>();
    for await (const entry of this.#kv.kv.list<PeerRecord>({ prefix: ["peer"] })) {
      if (isHost(entry.value.host)) peers.set(entry.key[1] as string, entry.value);
    }
    return peers;
  }

  /** Stores a peer's address record. */
  async putPeer(user: string, record: PeerRecord): Promise<void> {
    await this.#kv.logChange(this.#kv.atomic().set(["peer", user], record), { peers: [user] })
      .commit();
  }

  /** Records what `user` shares (see {@link IndexStore.putShares}). */
  putShares(
    user: string,
    files: FileManifest[],
    replace: boolean,
    now: number = Date.now(),
  ): Promise<HolderKey[]> {
    // A name listed twice counts once (the last entry), so every holder row stays removable.
    files = [...new Map(files.map((f) => [f.name, f])).values()];
    const versions = files.map((file) => ({ file, id: manifestId(file) }));
    // A commit fails only when a manifest head it checks was collected meanwhile: write it again.
    return retrying(
      async () => await this.#tryPutShares(user, versions, replace, now) ?? RETRY,
      () => {
        throw new StoreError("CONTENDED", "Cannot save shares: manifests keep being collected");
      },
      SHARE_ATTEMPTS,
    );
  }

  async #tryPutShares(
    user: string,
    versions: { file: FileManifest; id: string }[],
    replace: boolean,
    now: number,
  ): Promise<HolderKey[] | null> {
    const old = new Map<string, ShareRecord>();
    const stamps = new Map<string, string>();
    for await (const entry of this.#kv.kv.list<ShareRecord>({ prefix: ["share", user] })) {
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

  /**
   * Commits groups of writes, several groups per commit, each commit with a change entry naming
   * the holder rows it changed; false if a check failed.
   */
  #commitGroups(groups: WriteGroup[]): Promise<boolean> {
    return this.#kv.commitBatches(groups, (op, batch) => {
      for (const group of batch) for (const write of group.writes) write(op);
      return this.#kv.logChange(op, { holders: batch.flatMap((g) => g.holders) });
    }, {
      // KV allows 100 checks to a commit; each group has at most 2.
      items: MAX_CHECKS / 2,
      mutations: (group) => group.writes.length,
      bytes: (group) => group.holders.reduce((n, k) => n + k.join("").length * 3 + 16, 0),
    });
  }

  /** Holder rows by key. */
  async getHolders(keys: HolderKey[]): Promise<(HolderRow | null)[]> {
    const entries = await this.#kv.getMany<HolderRecord>(keys.map((k) => ["holder", ...k]));
    return keys.map(([name, id, user], i) => {
      const value = entries[i]?.value;
      return value ? { name, id, user, ...value } : null;
    });
  }

  /** Address records of `users`. */
  async getPeers(users: string[]): Promise<(PeerRecord | null)[]> {
    const entries = await this.#kv.getMany<PeerRecord>(users.map((u) => ["peer", u]));
    return entries.map((e) => e.value && isHost(e.value.host) ? e.value : null);
  }

  /** Every holder row, or those of the files named `name`. */
  async listHolders(name?: string): Promise<HolderRow[]> {
    const rows: HolderRow[] = [];
    const prefix = name === undefined ? ["holder"] : ["holder", name];
    for await (const entry of this.#kv.kv.list<HolderRecord>({ prefix })) {
      const [, fileName, id, user] = entry.key as [string, string, string, string];
      rows.push({ name: fileName, id, user, ...entry.value });
    }
    return rows;
  }

  /** The chunk hashes of a stored manifest. */
  async getChunkHashes(id: string): Promise<string[] | null> {
    const head = (await this.#kv.kv.get<ManifestHead>(["manifest", id])).value;
    if (!head) return null;
    const hashes: string[] = [];
    for await (const entry of this.#kv.kv.list<Uint8Array>({ prefix: ["manifest", id] })) {
      const part = entry.value;
      for (let i = 0; i < part.length; i += 32) hashes.push(part.subarray(i, i + 32).toHex());
    }
    return hashes.length === head.chunkCount ? hashes : null;
  }

  /** Removes manifests nobody held for {@link MANIFEST_GRACE_MS}. */
  async collectManifests(now: number, limit: number): Promise<number> {
    let removed = 0;
    let seen = 0;
    for await (const entry of this.#kv.kv.list<number>({ prefix: ["manifest_orphan"] })) {
      if (++seen > limit * 4 || removed >= limit) break;
      const id = entry.key[1] as string;
      if (now - entry.value < MANIFEST_GRACE_MS) continue;
      const held = this.#kv.kv.list({ prefix: ["version_holder", id] }, { limit: 1 });
      if (!(await held.next()).done) {
        await this.#kv.atomic().check(entry).delete(entry.key).commit();
        continue;
      }
      // Parts and head in one commit (at most 8 parts), only if nobody announced it meanwhile.
      const op = this.#kv.atomic().check(entry).delete(entry.key).delete(["manifest", id]);
      for await (const part of this.#kv.kv.list({ prefix: ["manifest", id] })) op.delete(part.key);
      if ((await op.commit()).ok) removed++;
    }
    return removed;
  }

  /** Every user's last written heartbeat. */
  async listAlive(): Promise<Map<string, AliveRecord>> {
    const alive = new Map<string, AliveRecord>();
    for await (const entry of this.#kv.kv.list<AliveRecord>({ prefix: ["alive"] })) {
      alive.set(entry.key[1] as string, entry.value);
    }
    return alive;
  }

  /** Writes heartbeats with their change entries. */
  async putAlive(beats: Map<string, AliveRecord>): Promise<void> {
    // Each beat is about 100 bytes of change entry; 300 to a commit stays far below the limits.
    await this.#kv.commitBatches([...beats], (op, batch) => {
      for (const [user, record] of batch) op.set(["alive", user], record);
      return this.#kv.logChange(op, { alive: batch.map(([u, r]) => [u, r.session, r.lastSeen]) });
    }, { items: 300 });
  }

  /** The writers of the change entries still kept. */
  async changeWriters(): Promise<Map<string, number>> {
    const writers = new Map<string, number>();
    for await (const entry of this.#kv.kv.list<number>({ prefix: ["change_writer"] })) {
      writers.set(entry.key[1] as string, entry.value);
    }
    return writers;
  }

  /** Change entries of `writer` from `from` on. */
  async readChanges(writer: string, from: number, limit: number): Promise<LoggedChange[]> {
    const changes: LoggedChange[] = [];
    const entries = this.#kv.kv.list<StoredChange>(
      { prefix: ["change", writer], start: ["change", writer, from] },
      { limit },
    );
    for await (const entry of entries) {
      if (typeof entry.key[2] !== "number") continue;
      changes.push({ writer, seq: entry.key[2], ...entry.value });
    }
    return changes;
  }

  /** Change entries of `writer` by number. */
  async getChanges(writer: string, seqs: number[]): Promise<(LoggedChange | null)[]> {
    const keys = seqs.map((seq) => ["change", writer, seq]);
    const entries = await this.#kv.getMany<StoredChange>(keys);
    return entries.map((e, i) => e.value ? { writer, seq: seqs[i]!, ...e.value } : null);
  }

  /** The newest change entry of `writer`. */
  async lastChange(writer: string): Promise<LoggedChange | null> {
    const entries = this.#kv.kv.list<StoredChange>({ prefix: ["change", writer] }, {
      limit: 1,
      reverse: true,
    });
    for await (const entry of entries) {
      if (typeof entry.key[2] === "number") return { writer, seq: entry.key[2], ...entry.value };
    }
    return null;
  }

  /** Writes partial-holder updates with their change entries. */
  async putPartialHolders(updates: PartialUpdate[]): Promise<void> {
    // Records and the change entry that carries them: about 48 KiB of records to a commit.
    await this.#kv.commitBatches(updates, (op, batch) => {
      for (const update of batch) {
        const key = ["partial", update.name, update.id, update.user];
        if (update.holder) op.set(key, update, { expireIn: PARTIAL_HOLDER_TTL_MS });
        else op.delete(key);
      }
      return this.#kv.logChange(op, { partial: batch });
    }, { bytes: (update) => JSON.stringify(update).length + 16, maxBytes: CHANGE_ENTRY_BYTES });
  }

  /** Every partial holder still kept. */
  async listPartialHolders(): Promise<PartialUpdate[]> {
    const entries = this.#kv.kv.list<PartialUpdate>({ prefix: ["partial"] });
    return (await Array.fromAsync(entries)).map((e) => e.value);
  }

  /**
   * Writes the manifests that are not stored yet — every part first (many to a commit), then the
   * heads (many to a commit, each checked absent) — and returns every head's versionstamp.
   */
  async #putManifests(manifests: Map<string, FileManifest>): Promise<Map<string, string>> {
    const ids = [...manifests.keys()];
    const existing = await this.#kv.getMany(ids.map((id) => ["manifest", id]));
    const stamps = new Map<string, string>();
    const missing: string[] = [];
    ids.forEach((id, i) => {
      const stamp = existing[i]?.versionstamp;
      if (stamp) stamps.set(id, stamp);
      else missing.push(id);
    });
    if (missing.length === 0) return stamps;
    const parts: Array<{ key: Deno.KvKey; bytes: Uint8Array }> = [];
    const heads: Array<[string, ManifestHead]> = [];
    for (const id of missing) {
      const file = manifests.get(id)!;
      const count = Math.ceil(file.chunkHashes.length / HASHES_PER_PART);
      for (let part = 0; part < count; part++) {
        const slice = file.chunkHashes.slice(part * HASHES_PER_PART, (part + 1) * HASHES_PER_PART);
        const bytes = new Uint8Array(slice.length * 32);
        slice.forEach((hex, i) => bytes.set(Uint8Array.fromHex(hex), i * 32));
        parts.push({ key: ["manifest", id, part], bytes });
      }
      heads.push([id, {
        size: file.size,
        chunkSize: file.chunkSize,
        sha256: file.sha256,
        chunkCount: file.chunkHashes.length,
        parts: count,
      }]);
    }
    const written = await this.#kv.commitBatches(parts, (op, batch) => {
      for (const { key, bytes } of batch) op.set(key, bytes);
    }, { bytes: (part) => part.bytes.length, maxBytes: PART_BYTES });
    if (!written) throw new StoreError("COMMIT_FAILED", "Cannot save shares: KV commit failed");
    // Heads: each checked absent; a batch another writer beat to one of them goes one by one.
    for (const batch of batches(heads, { items: MAX_CHECKS })) {
      const op = this.#kv.atomic();
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
        const one = await this.#kv.atomic().check({ key, versionstamp: null }).set(key, head)
          .commit();
        stamps.set(id, one.ok ? one.versionstamp : (await this.#kv.kv.get(key)).versionstamp ?? "");
      }
    }
    return stamps;
  }
}
