/**
 * A serving peer: indexes its shared folder, listens for other peers, logs in to the tracker,
 * announces, heartbeats, and re-announces when the folder changes. When the tracker goes away it
 * keeps serving other peers and reconnects with back-off, logging in and announcing again.
 *
 * @module
 */
import {
  type ClientTls,
  fitConnectionCaps,
  importPublicKey,
  MAX_CONNECTIONS,
  openFileLimit,
  RemoteError,
  type ServerTls,
} from "../protocol/mod.ts";
import { type Backoff, backoffMs, sleep } from "../common/mod.ts";
import { PeerError } from "./errors.ts";
import { isPartialDownload } from "./part_state.ts";
import { type PeerServer, startPeerServer } from "./peer_server.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import { type IndexedFile, indexShare } from "./share_index.ts";
import { SwarmFiles } from "./swarm_files.ts";
import { ProgressReporter } from "./swarm_seat.ts";
import { type Session, type TrackerAddress, TrackerClient } from "./tracker_client.ts";

/**
 * A node that logs in with a password starts a new session this long before its own expires (or
 * half way through a shorter session).
 */
export const RENEW_BEFORE_EXPIRY_MS = 3600_000;

/** Settings of a {@link PeerNode}. */
export interface PeerNodeOptions {
  /**
   * The tracker, or several of one cluster: the first that answers is used, and when it fails
   * the node logs in and announces on the next (serving other peers all along).
   */
  tracker: TrackerAddress | readonly TrackerAddress[];
  /** Account name. */
  user: string;
  /**
   * Account password (kept in memory to log in again after an outage, and before the session
   * expires). Give this or `token`.
   */
  password?: string;
  /**
   * A kept session's token (`p2pfs-peer login`), used instead of a password: the node picks it up
   * again after an outage, never logs it out, and stops when it ends.
   */
  token?: string;
  /** Folder to share. */
  shareDir: string;
  /** Address to listen on for peers. Default 127.0.0.1. */
  hostname?: string;
  /** Port to listen on; 0 picks one. Default 0. */
  port?: number;
  /** Address other peers should use; default the listening address, or the address this
   * machine reaches the tracker from when listening on all interfaces. The tracker records it
   * only when it trusts announced hosts; otherwise it records where the connection comes from. */
  announceHost?: string;
  /** Preferred chunk size. */
  chunkSize?: number;
  /** How often to rescan even without change events. Default 60 s. */
  rescanMs?: number;
  /** Limits the upload rate over all connections. */
  uploadLimiter?: RateLimiter;
  /** Serve other peers over TLS with this certificate. */
  serverTls?: ServerTls;
  /** Talk to the tracker over TLS. */
  trackerTls?: ClientTls;
  /** Time a peer connection has to show a read ticket. Default `TICKET_WINDOW_MS` (10 s). */
  ticketWindowMs?: number;
  /** Most peer connections without a ticket at once. Default `MAX_UNTICKETED_CONNECTIONS`. */
  maxUnticketed?: number;
  /** One-line notes about what happens (tracker lost, rescans). */
  onLog?: (line: string) => void;
}

/**
 * A running, serving peer.
 *
 * @example
 * ```ts ignore
 * await using node = await PeerNode.start({ tracker, user: "ann", password, shareDir: "./shared" });
 * console.log(node.addr, node.files.size);
 * ```
 */
export class PeerNode implements AsyncDisposable {
  readonly #options: PeerNodeOptions;
  readonly #root: string;
  readonly #stop = new AbortController();
  #index: Map<string, IndexedFile> = new Map();
  #server: PeerServer | undefined;
  #client: TrackerClient | undefined;
  /** Which of several trackers to try first (the one in use, or after a failure the next). */
  #trackerIndex = 0;
  #session: Session | undefined;
  /** The tracker's ticket key, from the first login (the tracker client pins it). */
  #trackerKey: CryptoKey | undefined;
  #announceHost = "";
  /** The host the tracker recorded at the last announce (what downloaders are given). */
  #recordedHost: string | undefined;
  #tasks: Promise<void>[] = [];
  #rescanQueued: ReturnType<typeof setTimeout> | undefined;
  #rescanning: Promise<void> = Promise.resolve();
  #bytesSent = 0;
  readonly #ended = Promise.withResolvers<string>();
  #sessionStart = 0;

  private constructor(options: PeerNodeOptions, root: string) {
    this.#options = options;
    this.#root = root;
  }

  /** Indexes, listens, logs in and announces; resolves when the peer is serving. */
  static async start(options: PeerNodeOptions): Promise<PeerNode> {
    let root: string;
    try {
      root = await Deno.realPath(options.shareDir);
      if (!(await Deno.stat(root)).isDirectory) throw new Error("not a folder");
    } catch (cause) {
      throw new PeerError("NOT_FOUND", `Cannot share ${options.shareDir}: it is not a folder`, {
        cause,
      });
    }
    const node = new PeerNode(options, root);
    node.#index = await indexShare(root, options.chunkSize ? { chunkSize: options.chunkSize } : {});
    node.#server = startPeerServer(
      {
        user: options.user,
        root,
        lookup: (name) => node.#index.get(name),
        onStale: () => node.requestRescan(),
        trackerKey: () => node.#trackerKey,
        partial: (name) => node.swarm.get(name),
        swarm: node.swarm,
      },
      {
        hostname: options.hostname ?? "127.0.0.1",
        port: options.port ?? 0,
        // Each served connection holds its socket and the file it reads: two descriptors.
        maxConnections: fitConnectionCaps(openFileLimit(), { peer: MAX_CONNECTIONS }, {
          filesEach: { peer: 2 },
        }).peer,
        onSent: (n) => node.#bytesSent += n,
        credit: (user) => node.swarm.creditOf(user),
        ...(options.ticketWindowMs ? { ticketWindowMs: options.ticketWindowMs } : {}),
        ...(options.maxUnticketed ? { maxUnticketed: options.maxUnticketed } : {}),
        ...(options.uploadLimiter ? { limiter: options.uploadLimiter } : {}),
        ...(options.serverTls ? { tls: options.serverTls } : {}),
      },
    );
    try {
      await node.#connect();
    } catch (error) {
      await node.#server.close();
      throw error;
    }
    node.#tasks.push(node.#heartbeatLoop(), node.#watchLoop());
    return node;
  }

  /**
   * Resolves, with why, when the node stopped serving because its session ended on the tracker
   * (revoked by `logout --all`, `passwd` or an operator, or a kept session that expired). It does
   * not log in again behind the operator's back.
   */
  get ended(): Promise<string> {
    return this.#ended.promise;
  }

  /** Files this peer downloads (in the shell) and serves meanwhile from what it has verified. */
  readonly swarm: SwarmFiles = new SwarmFiles();

  /** Tells the tracker this peer's progress on a version it downloads (see `swarm_seat.ts`). */
  progress(
    client: TrackerClient,
    token: string,
    version: { name: string; id: string },
  ): ProgressReporter {
    return new ProgressReporter(client, token, {
      ...version,
      host: this.addr.hostname,
      port: this.addr.port,
      tls: this.#options.serverTls !== undefined,
    }, () => {});
  }

  /** Where other peers reach this one: the host the tracker recorded, and the listening port. */
  get addr(): { hostname: string; port: number } {
    return {
      hostname: this.#recordedHost ?? this.#announceHost,
      port: this.#server!.addr.port,
    };
  }

  /** The real path of the shared folder. */
  get root(): string {
    return this.#root;
  }

  /** The files shared now. */
  get files(): ReadonlyMap<string, IndexedFile> {
    return this.#index;
  }

  /** The current session, if logged in. */
  get session(): Session | undefined {
    return this.#session;
  }

  /** Bytes served to other peers so far. */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** Whether the tracker connection is up. */
  get connected(): boolean {
    return this.#client !== undefined && this.#session !== undefined;
  }

  /** Re-indexes soon (changes are gathered for half a second). */
  requestRescan(): void {
    if (this.#stop.signal.aborted) return;
    clearTimeout(this.#rescanQueued);
    this.#rescanQueued = setTimeout(() => {
      this.#rescanning = this.#rescanning.then(() => this.rescan()).catch((error) =>
        this.#log(`rescan failed: ${error instanceof Error ? error.message : error}`)
      );
    }, 500);
  }

  /** Re-indexes now and re-announces if anything changed. */
  async rescan(): Promise<void> {
    const next = await indexShare(this.#root, {
      previous: this.#index,
      signal: this.#stop.signal,
      ...(this.#options.chunkSize ? { chunkSize: this.#options.chunkSize } : {}),
    });
    const changed = next.size !== this.#index.size ||
      [...next].some(([name, file]) => this.#index.get(name) !== file);
    this.#index = next;
    if (changed) {
      this.#log(`share changed: ${next.size} files`);
      await this.#announce().catch((error) =>
        this.#log(`announce failed: ${error instanceof Error ? error.message : error}`)
      );
    }
  }

  /** Logs out, stops serving and closes everything. */
  async close(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    clearTimeout(this.#rescanQueued);
    const client = this.#client;
    // A kept session outlives this process: the tracker shows the peer offline once it falls
    // silent.
    if (client && this.#session && this.#options.token === undefined) {
      await client.logout(this.#session.token).catch(() => {});
    }
    client?.close();
    await Promise.allSettled(this.#tasks);
    await this.#rescanning;
    await this.#server?.close();
  }

  /** The same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #connect(): Promise<void> {
    const client = await TrackerClient.connect(this.#options.tracker, {
      agent: "p2pfs-serve",
      startAt: this.#trackerIndex,
      ...(this.#options.trackerTls ? { tls: this.#options.trackerTls } : {}),
    });
    try {
      this.#session = this.#options.token !== undefined
        ? await client.resume(this.#options.token)
        : await client.login(this.#options.user, this.#options.password ?? "");
      this.#sessionStart = Date.now();
      this.#trackerKey ??= await importPublicKey(this.#session.trackerKey);
      this.#client = client;
      this.#trackerIndex = client.trackerIndex;
      this.#announceHost = this.#options.announceHost ?? this.#pickAnnounceHost();
      await this.#announce();
    } catch (error) {
      client.close();
      this.#client = undefined;
      this.#session = undefined;
      throw error;
    }
  }

  #pickAnnounceHost(): string {
    const host = this.#options.hostname ?? "127.0.0.1";
    if (host !== "0.0.0.0" && host !== "::") return host;
    return this.#client?.localAddr?.hostname ?? "127.0.0.1";
  }

  async #announce(): Promise<void> {
    if (!this.#client || !this.#session) return;
    const files = [...this.#index.values()].map((
      { name, size, chunkSize, sha256, chunkHashes },
    ) => ({
      name,
      size,
      chunkSize,
      sha256,
      chunkHashes,
    }));
    const recorded = await this.#client.announce(this.#session.token, {
      host: this.#announceHost,
      port: this.#server!.addr.port,
      ...(this.#options.serverTls ? { tls: true } : {}),
    }, files);
    this.#recordedHost = recorded.host;
  }

  async #heartbeatLoop(): Promise<void> {
    const signal = this.#stop.signal;
    // The retry rule in use and how many retries under it failed so far.
    let retry = { rule: RECONNECT, attempt: 0 };
    while (!signal.aborted) {
      const waitMs = this.connected
        ? this.#session!.heartbeatMs
        : backoffMs(retry.rule, retry.attempt, NO_JITTER);
      await sleep(waitMs, signal);
      if (signal.aborted) break;
      const wasConnected = this.connected;
      try {
        if (!this.connected) {
          await this.#connect();
          this.#log("reconnected to the tracker");
          retry = { rule: RECONNECT, attempt: 0 };
          continue;
        }
        const session = this.#session!;
        const renewWithin = Math.min(
          RENEW_BEFORE_EXPIRY_MS,
          (session.expiresAt - this.#sessionStart) / 2,
        );
        if (this.#options.token === undefined && session.expiresAt - Date.now() < renewWithin) {
          // About to expire: a new session now, the old one ended (never a revoked one).
          const renewed = await this.#client!.login(
            this.#options.user,
            this.#options.password ?? "",
          );
          this.#sessionStart = Date.now();
          await this.#client!.logout(session.token).catch(() => {});
          this.#session = renewed;
          await this.#announce();
          continue;
        }
        await this.#client!.heartbeat(session.token);
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof RemoteError && error.code === "BAD_TOKEN") {
          const expired = this.#session !== undefined && this.#session.expiresAt <= Date.now();
          const why = expired
            ? "the session expired"
            : "the session was ended on the tracker (logout --all, a password change or an operator)";
          this.#log(`${why}: stopped serving`);
          this.#ended.resolve(why);
          this.#client?.close();
          this.#client = undefined;
          this.#session = undefined;
          break;
        } else {
          this.#log(`tracker unreachable: ${error instanceof Error ? error.message : error}`);
          const trackers = this.#options.tracker;
          if (wasConnected && Array.isArray(trackers) && trackers.length > 1) {
            // Another tracker of the cluster may answer: move on to it without waiting long
            // (a failed connect has tried them all, and backs off as usual).
            this.#trackerIndex = (this.#trackerIndex + 1) % trackers.length;
            retry = { rule: FAILOVER, attempt: 0 };
          } else {
            retry.attempt++;
          }
        }
        this.#client?.close();
        this.#client = undefined;
        this.#session = undefined;
      }
    }
  }

  async #watchLoop(): Promise<void> {
    const signal = this.#stop.signal;
    const periodic = setInterval(() => this.requestRescan(), this.#options.rescanMs ?? 60_000);
    let watcher: Deno.FsWatcher | undefined;
    try {
      watcher = Deno.watchFs(this.#root, { recursive: true });
      signal.addEventListener("abort", () => watcher?.close(), { once: true });
      for await (const event of watcher) {
        if (event.paths.every(isPartialDownload)) continue;
        this.requestRescan();
      }
    } catch (error) {
      if (!signal.aborted) {
        this.#log(`watching the share failed, rescanning periodically: ${error}`);
      }
      await sleep(Infinity, signal);
    } finally {
      clearInterval(periodic);
    }
  }

  #log(line: string): void {
    this.#options.onLog?.(line);
  }
}

/** Reconnecting to the tracker: 500 ms, doubling up to 30 s, without jitter. */
const RECONNECT: Backoff = { firstMs: 500, maxMs: 30_000 };

/** After moving on to another tracker of the cluster: 100 ms, doubling the same way. */
const FAILOVER: Backoff = { firstMs: 100, maxMs: 30_000 };

const NO_JITTER = () => 1;
