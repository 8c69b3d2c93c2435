/**
 * Fake peers for integration tests: a peer-protocol server inside the test process that greets
 * like a real peer, takes any ticket, and answers `have` and `read` the way the test asks — parked
 * (an empty have-map, held until just before `HAVE_WAIT_MS` when asked to wait) or lying (every
 * chunk claimed, then `NOT_FOUND` or wrong bytes of the right length) — and a tracker session that
 * lists it as a partial holder of a real version: `details`, then `progress`, again and again.
 *
 * Everything is bounded and owned: every wait ends when the fake is disposed, disposing closes
 * every connection and the listener and logs the session out (so the tracker forgets it).
 *
 * @module
 */
import { setTimeout as delay } from "node:timers/promises";
import { parseAddress, type Session, TrackerClient } from "../../lib/peer/mod.ts";
import {
  Channel,
  encodeHaveMap,
  type FileDetails,
  type FileManifest,
  HAVE_WAIT_MS,
  newChallenge,
  type OutgoingMessage,
  parsePeerRequest,
  type PeerRequest,
  PROTOCOL_VERSION,
  type ServedListener,
  serveListener,
  serveRequests,
} from "../../lib/protocol/mod.ts";
import { PASSWORD, randomBytes } from "./_harness.ts";

/** What a fake's `have` replies claim: no chunk at all, or every chunk (never `complete`). */
export type FakeHave = "none" | "all";

/** How a fake answers `read`: a `NOT_FOUND` refusal, or wrong bytes of the asked length. */
export type FakeRead = "not_found" | "corrupt";

/** Settings of {@link FakePeer.start}. */
export interface FakePeerOptions {
  /** Its account (registered already, see {@link registerAccounts}). */
  user: string;
  /** The tracker, `HOST:PORT`. */
  trackerAddress: string;
  /** The account's password. Default {@link PASSWORD}. */
  password?: string;
  /** What its `have` replies claim. */
  have: FakeHave;
  /** How it answers `read`. */
  read: FakeRead;
}

/** What a fake was asked, for the test to check that it was used at all. */
export interface FakePeerCounts {
  /** Connections accepted. */
  connections: number;
  /** Tickets shown (each answered `ok`). */
  tickets: number;
  /** `have` requests. */
  haves: number;
  /** `read` requests. */
  reads: number;
}

/** How often a fake repeats `details` and `progress` (the tracker lists it for 15 s after one). */
const CLAIM_EVERY_MS = 2_000;

/** A `have` with `wait` is answered this long before {@link HAVE_WAIT_MS} runs out. */
const HAVE_WAIT_MARGIN_MS = 100;

/** Most bytes one `read` may ask a fake for (a chunk is 1 MiB). */
const MAX_READ_BYTES = 16 * 1024 * 1024;

/** Wrong bytes a corrupt fake sends (the same junk, over and over). */
const JUNK = randomBytes(1024 * 1024);

class FakeRefusal extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/**
 * A fake peer: a listener on 127.0.0.1 (port 0) and a logged-in tracker session.
 *
 * @example
 * ```ts ignore
 * await registerAccounts(tracker.address, ["parked"]);
 * await using fake = await FakePeer.start({
 *   user: "parked", trackerAddress: tracker.address, have: "none", read: "not_found",
 * });
 * await fake.claim("big.bin", 0.75);
 * ```
 */
export class FakePeer implements AsyncDisposable {
  /** Its account. */
  readonly user: string;
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** What it was asked so far. */
  readonly counts: FakePeerCounts = { connections: 0, tickets: 0, haves: 0, reads: 0 };
  readonly #options: FakePeerOptions;
  readonly #server: ServedListener;
  readonly #client: TrackerClient;
  readonly #session: Session;
  /** Chunk counts of the versions it pretends to hold, by version id. */
  readonly #versions = new Map<string, number>();
  readonly #stop = new AbortController();
  readonly #loops: Promise<void>[] = [];

  private constructor(options: FakePeerOptions, client: TrackerClient, session: Session) {
    this.#options = options;
    this.user = options.user;
    this.#server = serveListener(
      Deno.listen({ hostname: "127.0.0.1", port: 0 }),
      (conn, signal) => this.#serve(conn, signal),
    );
    this.port = this.#server.addr.port;
    this.#client = client;
    this.#session = session;
  }

  /** Listens, logs in, and serves until disposed. */
  static async start(options: FakePeerOptions): Promise<FakePeer> {
    const client = await TrackerClient.connect(parseAddress(options.trackerAddress), {
      agent: "fake-peer",
    });
    let session: Session;
    try {
      session = await client.login(options.user, options.password ?? PASSWORD);
    } catch (error) {
      client.close();
      throw error;
    }
    return new FakePeer(options, client, session);
  }

  /**
   * Pretends to hold `progress` of the version of `name` that `details` picks: asks `details`
   * (as a real downloader does first), tells the tracker `progress` at once, and keeps repeating
   * both every {@link CLAIM_EVERY_MS} until disposed. Resolves to the first `details`.
   */
  async claim(name: string, progress: number): Promise<FileDetails> {
    const token = this.#session.token;
    const details = await this.#client.details(token, name);
    this.#versions.set(details.id, details.chunkHashes.length);
    const update = { name, id: details.id, host: "127.0.0.1", port: this.port, progress };
    await this.#client.progress(token, update);
    this.#loops.push((async () => {
      while (!this.#stop.signal.aborted) {
        await delay(CLAIM_EVERY_MS, undefined, { signal: this.#stop.signal }).catch(() => {});
        if (this.#stop.signal.aborted) return;
        try {
          await this.#client.details(token, name, { version: details.id });
          await this.#client.progress(token, update);
        } catch {
          // a refused or lost update: the next round tries again
        }
      }
    })());
    return details;
  }

  /**
   * Announces `count` made-up one-chunk versions (`junk/USER-N.bin`) at this fake's address, for
   * other accounts to report downloads of; resolves to their manifests.
   */
  async announceJunk(count: number): Promise<FileManifest[]> {
    const size = 1024 * 1024;
    const files: FileManifest[] = Array.from({ length: count }, (_, i) => ({
      name: `junk/${this.user}-${i}.bin`,
      size,
      chunkSize: size,
      sha256: randomBytes(32).toHex(),
      chunkHashes: [randomBytes(32).toHex()],
    }));
    await this.#client.announce(this.#session.token, { host: "127.0.0.1", port: this.port }, files);
    return files;
  }

  /**
   * Reports a whole download of each of `files` from `owner` (after a `details` of each, which
   * the tracker requires); resolves to how many reports the tracker accepted.
   */
  async reportDownloads(owner: string, files: FileManifest[]): Promise<number> {
    let accepted = 0;
    for (const file of files) {
      try {
        const details = await this.#client.details(this.#session.token, file.name);
        await this.#client.report(this.#session.token, {
          name: file.name,
          sha256: details.sha256,
          id: details.id,
          source: owner,
          ok: true,
          bytes: details.size,
        });
        accepted++;
      } catch {
        // refused (the tracker bounds this): what counts is what was accepted
      }
    }
    return accepted;
  }

  /** Stops claiming, logs out, closes every connection and the listener. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled(this.#loops);
    await this.#client.logout(this.#session.token).catch(() => {});
    this.#client.close();
    await this.#server.close();
  }

  /** Serves one connection with the real request loop and this fake's answers. */
  async #serve(conn: Deno.Conn, signal: AbortSignal): Promise<void> {
    this.counts.connections++;
    const channel = new Channel(conn);
    channel.closeOnAbort(signal);
    channel.closeOnAbort(this.#stop.signal);
    const challenge = newChallenge();
    try {
      await serveRequests(channel, {
        side: "peer",
        parse: (message) => parsePeerRequest(message as Record<string, unknown>),
        hello: () => ({
          type: "hello",
          version: PROTOCOL_VERSION,
          server: "peer",
          user: this.user,
          challenge,
        }),
        isRefusal: (error): error is FakeRefusal => error instanceof FakeRefusal,
        idleMs: () => 60_000,
        handle: (request, streaming) => this.#answer(channel, request, streaming, signal),
      });
    } finally {
      channel.close();
    }
  }

  async #answer(
    channel: Channel,
    request: PeerRequest,
    streaming: () => void,
    signal: AbortSignal,
  ): Promise<OutgoingMessage | null> {
    switch (request.type) {
      case "hello":
        return null; // answered by the loop
      case "ping":
        return { type: "pong", nonce: request.nonce };
      case "ticket":
        this.counts.tickets++;
        return { type: "ok" };
      case "have": {
        this.counts.haves++;
        const chunks = this.#versions.get(request.id);
        if (chunks === undefined) {
          throw new FakeRefusal("NOT_FOUND", `Cannot tell chunks of ${request.name}: not here`);
        }
        if (request.wait) {
          const stop = AbortSignal.any([signal, this.#stop.signal]);
          await delay(HAVE_WAIT_MS - HAVE_WAIT_MARGIN_MS, undefined, { signal: stop })
            .catch(() => {});
        }
        const have = new Uint8Array(chunks).fill(this.#options.have === "all" ? 1 : 0);
        return { type: "have", id: request.id, bits: encodeHaveMap(have), complete: false };
      }
      case "read": {
        this.counts.reads++;
        if (this.#options.read === "not_found" || request.length > MAX_READ_BYTES) {
          throw new FakeRefusal("NOT_FOUND", `Cannot read ${request.name}: not verified here`);
        }
        streaming();
        await channel.send({ type: "data", offset: request.offset, length: request.length });
        for (let left = request.length; left > 0; left -= JUNK.length) {
          await channel.sendRaw(JUNK.subarray(0, Math.min(left, JUNK.length)));
        }
        return null;
      }
    }
  }
}
