/**
 * Connections to other peers kept open between files, so fetching a folder of small files does
 * not pay a connect and `hello` per file. A connection goes back to the pool only when no request
 * is pending on it.
 *
 * @module
 */
import type { ClientTls } from "../protocol/mod.ts";
import { PeerClient } from "./peer_client.ts";

/** Where a peer listens and who it should be. */
export interface PeerTarget {
  /** Expected user. */
  user: string;
  /** Host. */
  host: string;
  /** Port. */
  port: number;
  /** Whether it serves over TLS. */
  tls?: boolean;
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
  readonly #tls: ClientTls;
  /** Round trips measured by pings, by user, shared between files. */
  readonly pings: Map<string, number | null> = new Map();

  /** A pool whose TLS connections trust the CAs in `tls` besides the system's. */
  constructor(options: { tls?: ClientTls } = {}) {
    this.#tls = options.tls ?? {};
  }

  /** TLS settings for a target that serves over TLS, else undefined. */
  tlsFor(target: { tls?: boolean }): ClientTls | undefined {
    return target.tls ? this.#tls : undefined;
  }

  /** An idle connection to `target`, or a new one. */
  async acquire(
    target: PeerTarget,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<PeerClient> {
    const idle = this.#idle.get(key(target))?.pop();
    if (idle) return idle;
    const tls = this.tlsFor(target);
    return await PeerClient.connect(target.host, target.port, {
      ...options,
      ...(tls ? { tls } : {}),
    });
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
