/**
 * Talking to another peer: connect and `hello`, `ping`, show a read `ticket`, and `read` a byte
 * range.
 *
 * @module
 */
import {
  Channel,
  type ClientTls,
  connect,
  dataReply,
  decodeHaveMap,
  decodeTicket,
  haveReply,
  helloReply,
  okReply,
  type PeerRequest,
  type PeerRequestOf,
  PING_TIMEOUT_MS,
  pongReply,
  PROTOCOL_VERSION,
  ProtocolError,
  type Schema,
} from "../protocol/mod.ts";
import type { DownloaderKey } from "./downloader_key.ts";
import { formatAddress } from "./tracker_client.ts";

/**
 * One connection to another peer.
 *
 * @example
 * ```ts ignore
 * using peer = await PeerClient.connect("127.0.0.1", 7071);
 * console.log(peer.user, await peer.ping());
 * ```
 */
export class PeerClient implements Disposable {
  readonly #channel: Channel;
  /** The user name the other peer gave in `hello`. */
  readonly user: string;
  /** The challenge the other peer gave in `hello`, which ticket proofs sign. */
  readonly #challenge: string | undefined;
  /** Versions (manifest ids) a ticket was shown for on this connection. */
  readonly #opened = new Set<string>();

  private constructor(channel: Channel, user: string, challenge: string | undefined) {
    this.#channel = channel;
    this.user = user;
    this.#challenge = challenge;
  }

  /** Connects and exchanges `hello`, giving up after `timeoutMs` (default 5 s). */
  static async connect(
    host: string,
    port: number,
    options: { timeoutMs?: number; signal?: AbortSignal; tls?: ClientTls } = {},
  ): Promise<PeerClient> {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 5_000);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const conn = await connect({
      hostname: host,
      port,
      signal,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    const channel = new Channel(conn);
    const onAbort = () => channel.close();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const hello = await channel.request(
        {
          type: "hello",
          version: PROTOCOL_VERSION,
          agent: "p2pfs-peer",
        } satisfies PeerRequestOf<"hello">,
        helloReply,
      );
      if (hello.server !== "peer" || hello.user === undefined) {
        throw new ProtocolError(
          "BAD_MESSAGE",
          `Cannot use ${formatAddress(host, port)}: not a peer`,
        );
      }
      return new PeerClient(channel, hello.user, hello.challenge);
    } catch (error) {
      channel.close();
      if (signal.aborted) {
        throw new ProtocolError("TIMEOUT", "Cannot reach peer: no answer in time");
      }
      throw error;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Sends a ping and resolves to the round trip in milliseconds. */
  async ping(): Promise<number> {
    const nonce = Math.floor(Math.random() * 2 ** 31);
    const started = performance.now();
    const pong = await this.#request({ type: "ping", nonce }, pongReply);
    if (pong.nonce !== nonce) throw new ProtocolError("BAD_MESSAGE", "Cannot ping: wrong nonce");
    return performance.now() - started;
  }

  /**
   * Shows a read ticket with this connection's proof, unless one for the same version was shown
   * already; the other peer then serves `read` of that version here. Throws the peer's refusal.
   */
  async showTicket(ticket: string, key: DownloaderKey): Promise<void> {
    const { version } = decodeTicket(ticket).payload;
    if (this.#opened.has(version)) return;
    if (this.#challenge === undefined) {
      throw new ProtocolError("BAD_MESSAGE", "Cannot show ticket: the peer sent no challenge");
    }
    const proof = await key.prove(ticket, this.#challenge);
    await this.#request({ type: "ticket", ticket, proof }, okReply);
    this.#opened.add(version);
  }

  /** Sends a `read` request without waiting, so several can be in flight (answers come in order). */
  async sendRead(name: string, sha256: string, offset: number, length: number): Promise<void> {
    await this.#send({ type: "read", name, sha256, offset, length });
  }

  /** Sends a `have` request without waiting (answered in order with the reads before it). */
  async sendHave(name: string, id: string, wait = false): Promise<void> {
    await this.#send({ type: "have", name, id, ...(wait ? { wait: true } : {}) });
  }

  /** Waits for the `have` reply answering the oldest pending `have`: the map and whether final. */
  async expectHave(chunks: number): Promise<{ have: Uint8Array; complete: boolean }> {
    const reply = await this.#channel.expect(haveReply);
    return { have: decodeHaveMap(reply.bits, chunks), complete: reply.complete };
  }

  /** Waits for the `data` header answering the oldest pending `read` of `offset` and `length`. */
  async expectData(offset: number, length: number): Promise<void> {
    const header = await this.#channel.expect(dataReply);
    if (header.offset !== offset || header.length !== length) {
      throw new ProtocolError("BAD_MESSAGE", "Cannot read data: header does not match the request");
    }
  }

  /** Reads exactly `target.length` raw bytes of the requested range. */
  async readExact(target: Uint8Array): Promise<void> {
    await this.#channel.reader.readExact(target);
  }

  /** Whether the connection was closed. */
  get closed(): boolean {
    return this.#channel.closed;
  }

  /** Closes the connection when `signal` aborts. */
  closeOnAbort(signal: AbortSignal): void {
    this.#channel.closeOnAbort(signal);
  }

  /** Closes the connection. */
  close(): void {
    this.#channel.close();
  }

  /** The same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Sends `message`, typed by the request schemas, without waiting for its reply. */
  async #send(message: PeerRequest): Promise<void> {
    await this.#channel.send(message);
  }

  /** Sends `message`, typed by the request schemas, and waits for its reply, checked. */
  async #request<T>(message: PeerRequest, schema: Schema<T>): Promise<T> {
    return await this.#channel.request(message, schema);
  }
}

/** What {@link pingPeer} found. */
export interface PingResult {
  /** Whether the peer answered. */
  online: boolean;
  /** Round trip of the ping in ms, or null when offline. */
  rttMs: number | null;
  /** Why it is offline, when it is. */
  error?: string;
}

/**
 * Connects to a peer, pings it once, and closes; never throws.
 *
 * @example
 * ```ts ignore
 * const { online, rttMs } = await pingPeer("127.0.0.1", 7071);
 * ```
 */
export async function pingPeer(
  host: string,
  port: number,
  options: { timeoutMs?: number; tls?: ClientTls } = {},
): Promise<PingResult> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? PING_TIMEOUT_MS);
  try {
    using peer = await PeerClient.connect(host, port, {
      signal,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    peer.closeOnAbort(signal);
    return { online: true, rttMs: await peer.ping() };
  } catch (error) {
    return {
      online: false,
      rttMs: null,
      error: signal.aborted
        ? "no answer in time"
        : error instanceof Error
        ? error.message
        : String(error),
    };
  }
}
