/**
 * Liveness: which peers are online. A heartbeat moves the peer's `lastSeen` forward in this
 * tracker's index at once; the heartbeats it took are written to the store in batches (one
 * commit for up to 300 peers, every {@link LIVENESS_FLUSH_MS} ms or sooner for short heartbeat
 * intervals), at most once a heartbeat interval per peer, and reach the other trackers through
 * the change log. A peer silent for {@link MISSED_HEARTBEATS_OFFLINE} intervals is offline.
 *
 * @module
 */
import type { IndexFollower } from "./index_follower.ts";
import type { AliveRecord, IndexStore, PeerRecord } from "./index_store.ts";

/** How many heartbeat intervals a peer may miss before it counts as offline. */
export const MISSED_HEARTBEATS_OFFLINE = 3;

/** The moment an online check is made at, and the heartbeat interval peers keep. */
export interface OnlineAt {
  /** The moment, ms since the epoch. */
  now: number;
  /** The heartbeat interval, ms. */
  heartbeatMs: number;
}

/**
 * The online rule, the one every part of p2pfs asks: a peer is online while it has not logged out
 * and was heard from (announce or heartbeat) within {@link MISSED_HEARTBEATS_OFFLINE} heartbeat
 * intervals, the last moment included.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isOnline } from "./liveness.ts";
 * const at = { now: 40_000, heartbeatMs: 10_000 };
 * assert.equal(isOnline({ online: true, lastSeen: 10_000 }, at), true); // 3 intervals ago
 * assert.equal(isOnline({ online: true, lastSeen: 9_999 }, at), false);
 * assert.equal(isOnline({ online: false, lastSeen: 40_000 }, at), false); // logged out
 * ```
 */
export function isOnline(peer: Pick<PeerRecord, "online" | "lastSeen">, at: OnlineAt): boolean {
  return peer.online && at.now - peer.lastSeen <= MISSED_HEARTBEATS_OFFLINE * at.heartbeatMs;
}

/** Longest time heartbeats wait in memory before they are written. */
export const LIVENESS_FLUSH_MS = 1_000;

/**
 * Heartbeats and the online rule.
 *
 * @example
 * ```ts ignore
 * const liveness = new Liveness(store, follower, { heartbeatMs: 10_000, now: Date.now });
 * await liveness.beat("ann", tokenHash);
 * ```
 */
export class Liveness {
  /** Heartbeat interval peers keep. */
  readonly heartbeatMs: number;
  readonly #store: IndexStore;
  readonly #follower: IndexFollower;
  readonly #now: () => number;
  /** Heartbeats not written yet. */
  readonly #pending = new Map<string, AliveRecord>();
  /** When each user's heartbeat was last written by this tracker. */
  readonly #writtenAt = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> = Promise.resolve();

  /** Liveness over `store`, shown in `follower`'s index. */
  constructor(
    store: IndexStore,
    follower: IndexFollower,
    options: { heartbeatMs: number; now: () => number },
  ) {
    this.#store = store;
    this.#follower = follower;
    this.heartbeatMs = options.heartbeatMs;
    this.#now = options.now;
  }

  /** Whether `peer` is online now ({@link isOnline}, at this tracker's clock and interval). */
  isOnline(peer: PeerRecord): boolean {
    return isOnline(peer, { now: this.#now(), heartbeatMs: this.heartbeatMs });
  }

  /** A heartbeat from `user`'s session `tokenHash`; counts only for the session that announced. */
  async beat(user: string, tokenHash: string): Promise<void> {
    const now = this.#now();
    let peer = this.#follower.index.peer(user);
    if (!peer || peer.session !== tokenHash) {
      // Announced on another tracker a moment ago, perhaps: ask the store.
      const stored = await this.#store.getPeer(user);
      if (!stored || stored.session !== tokenHash) return;
      this.#follower.index.setPeer(user, stored);
      peer = stored;
    }
    const beat = { session: tokenHash, lastSeen: now };
    this.#follower.index.alive(user, beat);
    if (now - (this.#writtenAt.get(user) ?? -Infinity) < this.heartbeatMs) return;
    this.#writtenAt.set(user, now);
    if (this.#writtenAt.size > 1_000_000) this.#writtenAt.clear();
    this.#pending.set(user, beat);
    if (this.#timer === undefined) await this.flush();
  }

  /** Writes the heartbeats taken since the last flush. */
  flush(): Promise<void> {
    if (this.#pending.size === 0) return this.#flushing;
    const beats = new Map(this.#pending);
    this.#pending.clear();
    const previous = this.#flushing;
    this.#flushing = previous.catch(() => {}).then(() => this.#store.putAlive(beats));
    return this.#flushing;
  }

  /** Writes heartbeats in batches from now on (until {@link stop}) instead of one by one. */
  start(onError: (error: unknown) => void = () => {}): void {
    if (this.#timer !== undefined) return;
    const every = Math.max(20, Math.min(LIVENESS_FLUSH_MS, this.heartbeatMs / 4));
    this.#timer = setInterval(() => this.flush().catch(onError), every);
  }

  /** Stops batching and writes what is pending. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush().catch(() => {});
  }
}
