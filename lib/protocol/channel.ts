/**
 * A message channel over one connection: JSON control messages in frames, raw bytes between them.
 *
 * @module
 */
import type { ByteBudget } from "./byte_budget.ts";
import { ProtocolError, RemoteError } from "./errors.ts";
import { type Duplex, encodeFrame, FrameReader, writeAll } from "./frame.ts";
import { MAX_FRAME_BYTES } from "./limits.ts";
import { errorReply } from "./messages.ts";
import type { Schema } from "./schema.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A decoded control message: a JSON object with a string `type`. */
export type Message = Record<string, unknown> & { type: string };

/** A control message to send: any JSON-ready object with a `type`. */
export type OutgoingMessage = { readonly type: string; readonly [field: string]: unknown };

/**
 * Encodes a control message as one frame of UTF-8 JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMessage, encodeMessage } from "./channel.ts";
 * const frame = encodeMessage({ type: "ping", nonce: 1 });
 * assert.ok(decodeMessage(frame.subarray(4)).type === "ping");
 * ```
 */
export function encodeMessage(message: OutgoingMessage): Uint8Array {
  return encodeFrame(encoder.encode(JSON.stringify(message)));
}

/** Decodes a frame body into a message, or throws `BAD_JSON` / `BAD_MESSAGE`. */
export function decodeMessage(body: Uint8Array): Message {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch (cause) {
    throw new ProtocolError("BAD_JSON", "Cannot read message: body is not UTF-8 JSON", { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("BAD_MESSAGE", "Cannot read message: body is not a JSON object");
  }
  if (typeof (value as Record<string, unknown>).type !== "string") {
    throw new ProtocolError("BAD_MESSAGE", "Cannot read message: field type is missing");
  }
  return value as Message;
}

/** Options for {@link Channel}. */
export interface ChannelOptions {
  /** Largest control frame accepted. */
  maxFrameBytes?: number;
  /** Where large incoming frames reserve their bytes; default the process's shared budget. */
  budget?: ByteBudget;
  /**
   * The standing read buffer, held for the connection's life (default 64 KiB); larger frames are
   * paid for from `budget` while they arrive. A server with many idle connections of small
   * requests (the tracker) keeps it small.
   */
  bufferBytes?: number;
}

/**
 * Sends and receives control messages and raw bytes over a {@link Duplex}.
 *
 * @example
 * ```ts ignore
 * import { Channel } from "./channel.ts";
 * import { pongReply } from "./messages.ts";
 * const channel = new Channel(await Deno.connect({ hostname: "127.0.0.1", port: 7071 }));
 * const pong = await channel.request({ type: "ping", nonce: 1 }, pongReply);
 * ```
 */
export class Channel {
  /** The buffered reader; use it for raw bytes after a header frame. */
  readonly reader: FrameReader;
  readonly #conn: Duplex;
  #closed = false;
  /** Removes the abort listeners added by {@link closeOnAbort}, so no signal outlives us. */
  readonly #unlisten: (() => void)[] = [];
  #deadline: ReturnType<typeof setTimeout> | undefined;

  /** Wraps `conn`; the channel owns it from now on. */
  constructor(conn: Duplex, options: ChannelOptions = {}) {
    this.#conn = conn;
    this.reader = new FrameReader(conn, {
      maxFrameBytes: options.maxFrameBytes ?? MAX_FRAME_BYTES,
      ...(options.budget ? { budget: options.budget } : {}),
      ...(options.bufferBytes ? { bufferBytes: options.bufferBytes } : {}),
    });
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one control message. */
  async send(message: OutgoingMessage): Promise<void> {
    await writeAll(this.#conn, encodeMessage(message));
  }

  /** Sends raw bytes (file data after a `data` header). */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    await writeAll(this.#conn, bytes);
  }

  /** Receives the next message, or `null` when the other side closed between messages. */
  async receive(): Promise<Message | null> {
    const body = await this.reader.readFrame();
    return body === null ? null : decodeMessage(body);
  }

  /**
   * Receives the next message and checks it against `schema`. An `error` reply becomes a
   * {@link RemoteError}; a closed connection a `TRUNCATED` {@link ProtocolError}.
   */
  async expect<T>(schema: Schema<T>): Promise<T> {
    const message = await this.receive();
    if (message === null) {
      throw new ProtocolError("TRUNCATED", "Cannot read reply: connection closed");
    }
    if (message.type === "error") {
      const error = errorReply(message, "error");
      throw new RemoteError(error.code, error.message);
    }
    return schema(message, message.type);
  }

  /** Sends `message` and waits for its reply, checked against `schema`. */
  async request<T>(message: OutgoingMessage, schema: Schema<T>): Promise<T> {
    await this.send(message);
    return await this.expect(schema);
  }

  /** Closes the connection when `signal` aborts (pending reads then fail). */
  closeOnAbort(signal: AbortSignal): void {
    if (signal.aborted) return this.close();
    if (this.#closed) return;
    // The listener is removed on close: a listened-to AbortSignal.timeout() keeps Deno running.
    const onAbort = () => this.close();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#unlisten.push(() => signal.removeEventListener("abort", onAbort));
  }

  /**
   * Closes the connection `ms` from now unless called again first (a handshake or idle
   * deadline); `null` disarms it.
   */
  closeAfter(ms: number | null): void {
    clearTimeout(this.#deadline);
    this.#deadline = ms === null || this.#closed ? undefined : setTimeout(() => this.close(), ms);
  }

  /** Closes the connection; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#deadline);
    for (const unlisten of this.#unlisten.splice(0)) unlisten();
    try {
      this.#conn.close();
    } catch {
      // already closed by the other side
    }
  }

  /** Lets `using channel = new Channel(conn)` close it at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }
}
