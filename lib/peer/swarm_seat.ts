/**
 * A downloading peer's seat in the swarm: while `get` runs it listens for other peers and serves
 * the chunks it has verified (see `swarm_files.ts`), under the same read tickets and checks as a
 * serving peer, and tells the tracker with `progress` how much of each version it holds (at most
 * every `PROGRESS_INTERVAL_MS`, and again at least every `PROGRESS_KEEPALIVE_MS` so the tracker
 * keeps listing it). Closing it withdraws from every version and stops listening.
 *
 * @module
 */
import {
  encodeHaveMap,
  fitConnectionCaps,
  importPublicKey,
  MAX_CONNECTIONS,
  openFileLimit,
  type ServerTls,
} from "../protocol/mod.ts";
import { openNoFollow } from "./download_folder.ts";
import { type PeerServer, startPeerServer } from "./peer_server.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import { SwarmFiles } from "./swarm_files.ts";
import type { TrackerClient } from "./tracker_client.ts";

/** A partial holder tells the tracker its progress at most this often. */
export const PROGRESS_INTERVAL_MS = 2_000;

/** ... and at least this often, so it stays listed (the tracker drops it after 15 s of silence). */
export const PROGRESS_KEEPALIVE_MS = 5_000;

/** The version of a finished download that goes on being served (`serveFinished`). */
export interface FinishedVersion {
  /** Name as shared. */
  name: string;
  /** Version (manifest id). */
  id: string;
  /** Whole-file SHA-256. */
  sha256: string;
  /** Size in bytes. */
  size: number;
  /** Chunk size. */
  chunkSize: number;
  /** Number of chunks. */
  chunks: number;
}

/**
 * What serves a download's verified chunks meanwhile: a `get`'s {@link SwarmSeat}, or a serving
 * peer (`serve`, `shell`) for what it downloads.
 */
export interface SwarmHost {
  /** The files served while downloading. */
  readonly swarm: SwarmFiles;
  /** A reporter of progress on one version to the tracker. */
  progress(
    client: TrackerClient,
    token: string,
    version: { name: string; id: string },
  ): ProgressReporter;
  /** Serves a finished download until the host closes (a `get` with `--seed-for`). */
  serveFinished?(
    version: FinishedVersion,
    path: string,
  ): void;
}

/** Settings of a {@link SwarmSeat}. */
export interface SwarmSeatOptions {
  /** This peer's user, told in `hello`. */
  user: string;
  /** The tracker's ticket key (from login, base64url). */
  trackerKey: string;
  /** Address to listen on. Default 127.0.0.1. */
  hostname?: string;
  /** Port to listen on; 0 picks one. Default 0. */
  port?: number;
  /** Host other peers should use (the tracker records it only if it trusts announced hosts). */
  announceHost?: string;
  /** Serve over TLS with this certificate. */
  tls?: ServerTls;
  /** Limits the upload rate over all connections. */
  uploadLimiter?: RateLimiter;
}

/**
 * Serving what a download has while it runs.
 *
 * @example
 * ```ts ignore
 * await using seat = await SwarmSeat.start({ user: "ann", trackerKey: session.trackerKey });
 * const progress = seat.progress(client, token, details);
 * await downloadFile(details, { outDir, swarm: seat.swarm, onProgress: (p) => progress.update(p.doneBytes / p.totalBytes) });
 * ```
 */
export class SwarmSeat implements SwarmHost, AsyncDisposable {
  /** The files served while downloading. */
  readonly swarm: SwarmFiles;
  readonly #server: PeerServer;
  readonly #announceHost: string;
  readonly #tls: boolean;
  readonly #reporters = new Set<ProgressReporter>();
  /** Withdrawals on their way to the tracker: closing waits for them. */
  readonly #withdrawals = new Set<Promise<void>>();
  readonly #finished: Deno.FsFile[] = [];
  readonly #sent: { bytes: number };

  private constructor(
    files: SwarmFiles,
    server: PeerServer,
    announceHost: string,
    tls: boolean,
    sent: { bytes: number },
  ) {
    this.swarm = files;
    this.#sent = sent;
    this.#server = server;
    this.#announceHost = announceHost;
    this.#tls = tls;
  }

  /** Starts listening. */
  static async start(options: SwarmSeatOptions): Promise<SwarmSeat> {
    const key = await importPublicKey(options.trackerKey);
    const files = new SwarmFiles();
    const sent = { bytes: 0 };
    const hostname = options.hostname ?? "127.0.0.1";
    const server = startPeerServer(
      {
        user: options.user,
        root: "/",
        lookup: () => undefined,
        partial: (name) => files.get(name),
        swarm: files,
        trackerKey: () => key,
      },
      {
        hostname,
        port: options.port ?? 0,
        maxConnections: fitConnectionCaps(openFileLimit(), { peer: MAX_CONNECTIONS }, {
          filesEach: { peer: 1 },
        }).peer,
        credit: (user) => files.creditOf(user),
        onSent: (n) => sent.bytes += n,
        ...(options.uploadLimiter ? { limiter: options.uploadLimiter } : {}),
        ...(options.tls ? { tls: options.tls } : {}),
      },
    );
    const announceHost = options.announceHost ??
      (hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname);
    return new SwarmSeat(files, server, announceHost, options.tls !== undefined, sent);
  }

  /** Where it listens. */
  get addr(): Deno.NetAddr {
    return this.#server.addr;
  }

  /** Bytes served to other peers so far. */
  get bytesSent(): number {
    return this.#sent.bytes;
  }

  /** A reporter of this peer's progress on version `id` of `name` to the tracker. */
  progress(
    client: TrackerClient,
    token: string,
    version: { name: string; id: string },
  ): ProgressReporter {
    const reporter = new ProgressReporter(client, token, {
      ...version,
      host: this.#announceHost,
      port: this.#server.addr.port,
      tls: this.#tls,
    }, (withdrawn) => {
      this.#reporters.delete(reporter);
      this.#withdrawals.add(withdrawn);
      withdrawn.finally(() => this.#withdrawals.delete(withdrawn));
    });
    this.#reporters.add(reporter);
    return reporter;
  }

  /**
   * Serves a finished download (every chunk verified) from `path` until the seat closes; the file
   * is opened once, without following links.
   */
  serveFinished(
    version: FinishedVersion,
    path: string,
  ): void {
    const file = openNoFollow(path, { read: true });
    this.#finished.push(file);
    this.swarm.add({
      name: version.name,
      id: version.id,
      sha256: version.sha256,
      size: version.size,
      chunkSize: version.chunkSize,
      have: new Uint8Array(version.chunks).fill(1),
      readAt: (buffer, position) => {
        file.seekSync(position, Deno.SeekMode.Start);
        return file.readSync(buffer);
      },
    });
  }

  /** Withdraws from every version and stops serving. */
  async close(): Promise<void> {
    await Promise.all([...this.#reporters].map((r) => r.withdraw()));
    await Promise.all([...this.#withdrawals]);
    await this.#server.close();
    for (const file of this.#finished.splice(0)) file.close();
  }

  /** The same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Tells the tracker this peer's progress on one version, rate-limited, until withdrawn. */
export class ProgressReporter {
  readonly #client: TrackerClient;
  readonly #token: string;
  readonly #where: { name: string; id: string; host: string; port: number; tls: boolean };
  readonly #onEnd: (withdrawn: Promise<void>) => void;
  readonly #keepalive: ReturnType<typeof setInterval>;
  #progress = 0;
  #stalled = false;
  #sources: string[] = [];
  #have: Uint8Array | undefined;
  #sentAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ended = false;
  #withdrawn: Promise<void> | undefined;
  #inFlight: Promise<void> = Promise.resolve();

  /** A reporter for one version (see {@link SwarmSeat.progress}). */
  constructor(
    client: TrackerClient,
    token: string,
    where: { name: string; id: string; host: string; port: number; tls: boolean },
    onEnd: (withdrawn: Promise<void>) => void,
  ) {
    this.#client = client;
    this.#token = token;
    this.#where = where;
    this.#onEnd = onEnd;
    this.#keepalive = setInterval(() => this.#send(), PROGRESS_KEEPALIVE_MS);
  }

  /**
   * Records the share held (0-1), which chunks (a live have-map, for the dashboard's chunk map),
   * whether the download is stalled (no online peer has what it lacks) and which sources it
   * fetches from; sent now if the last update is old enough or the stalled state changed, else
   * soon.
   */
  update(progress: number, have?: Uint8Array, stalled = false, sources?: string[]): void {
    if (this.#ended) return;
    this.#progress = Math.min(1, Math.max(0, progress));
    if (have) this.#have = have;
    const changed = stalled !== this.#stalled;
    this.#stalled = stalled;
    if (sources) this.#sources = sources.slice(0, 8);
    const wait = this.#sentAt + PROGRESS_INTERVAL_MS - Date.now();
    if (wait <= 0 || this.#progress === 1 || changed) this.#send();
    else this.#timer ??= setTimeout(() => this.#send(), wait);
  }

  /** Sends the current progress now; resolves when the tracker answered (errors are ignored). */
  async flush(): Promise<void> {
    this.#send();
    await this.#inFlight;
  }

  /** Tells the tracker this peer no longer serves the version. */
  withdraw(): Promise<void> {
    if (this.#ended) return this.#withdrawn ?? Promise.resolve();
    this.#ended = true;
    clearInterval(this.#keepalive);
    clearTimeout(this.#timer);
    this.#withdrawn = this.#inFlight.then(() => this.#call(true));
    this.#onEnd(this.#withdrawn);
    return this.#withdrawn;
  }

  #send(): void {
    if (this.#ended) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#sentAt = Date.now();
    this.#inFlight = this.#inFlight.then(() => this.#call(false));
  }

  async #call(withdraw: boolean): Promise<void> {
    const { name, id, host, port, tls } = this.#where;
    await this.#client.progress(this.#token, {
      name,
      id,
      host,
      port,
      ...(tls ? { tls: true } : {}),
      progress: this.#progress,
      ...(this.#have && !withdraw ? { have: encodeHaveMap(this.#have) } : {}),
      ...(withdraw ? { withdraw: true } : {}),
      ...(this.#stalled && !withdraw ? { stalled: true } : {}),
      ...(this.#sources.length > 0 && !withdraw && this.#progress < 1
        ? { sources: this.#sources }
        : {}),
    }).catch(() => {});
  }
}
