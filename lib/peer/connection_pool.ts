/**
 * Connections to other peers kept open between files, so fetching a folder of small files does
 * not pay a connect and `hello` per file. A connection goes back to the pool only when no request
 * is pending on it.
 *
 * @module
 */
import { PeerClient } from "./peer_client.ts";

/** Where a peer listens and who it should be. */
export interface PeerTarget {
  /** Expected user. */
  user: string;
  /** Host. */
  host: string;
  /** Port. */
  port: number;
}

/**
 * A pool of idle peer connections, keyed by user and address.
 *
 * @example
 * ```ts ignore
 * using pool = new ConnectionPool();
 * const peer = await pool.acquire({ user: "ann", host: "127.0.0.1", port: 7071 });
 * pool.release(peer, true);
 * ```
 */
export class ConnectionPool implements Disposable {
  readonly #idle = new Map<string, PeerClient[]>();
  /** Round trips measured by pings, by user, shared between files. */
  readonly pings: Map<string, number | null> = new Map();

  /** An idle connection to `target`, or a new one. */
  async acquire(
    target: PeerTarget,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<PeerClient> {
    const idle = this.#idle.get(key(target))?.pop();
    if (idle) return idle;
    return await PeerClient.connect(target.host, target.port, options);
  }

  /** Returns a connection: kept when `clean` (nothing pending on it), closed otherwise. */
  release(client: PeerClient, target: PeerTarget, clean: boolean): void {
    if (!clean || client.closed) {
      client.close();
      return;
    }
    const list = this.#idle.get(key(target)) ?? [];
    list.push(client);
    this.#idle.set(key(target), list);
  }

  /** Closes every idle connection. */
  [Symbol.dispose](): void {
    for (const list of this.#idle.values()) for (const client of list) client.close();
    this.#idle.clear();
  }
}

function key(target: PeerTarget): string {
  return `${target.user}@${target.host}:${target.port}`;
}
