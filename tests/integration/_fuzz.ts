/**
 * Random and mutated frames for the live fuzz run (`fuzz_test.ts`): a seeded generator, messages
 * for the tracker and the peer protocols that are plausible but mostly wrong, byte-level damage
 * (huge length prefixes, truncated frames, invalid UTF-8, unframed garbage), and a driver that
 * sends them over a few connections at a time and counts the replies.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  decodeMessage,
  encodeFrame,
  FrameReader,
  MAX_FRAME_BYTES,
  writeAll,
} from "../../lib/protocol/mod.ts";

const encoder = new TextEncoder();

/** A seeded generator (mulberry32): the same seed gives the same run. */
export class Random {
  #state: number;
  /** Starts the sequence for `seed`. */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, below). */
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  /** A string of `n` characters from `alphabet`. */
  text(
    n: number,
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
  ): string {
    let out = "";
    for (let i = 0; i < n; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }
}

/** Resident set of a live process in MB, from /proc. */
export async function rssMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  assert.ok(kb, `VmRSS of ${pid}`);
  return Number(kb) / 1024;
}

/** What one frame to send looks like; `bytes` is written as is (it may not be a whole frame). */
interface Item {
  bytes: Uint8Array;
  /** After this the stream is broken: the batch ends (the server is expected to hang up). */
  last?: boolean;
}

/** What the run needs to make plausible messages. */
export interface Context {
  random: Random;
  /** A real session token (of a throwaway account), to mix in with forged ones. */
  token: string;
  /** A file the peer really serves. */
  file: { name: string; sha256: string; id: string; size: number };
  /** Random JSON values, wrong in every shape. */
  json: unknown[];
}

export function frameOf(value: unknown): Uint8Array {
  return encodeFrame(encoder.encode(JSON.stringify(value)));
}

function hex64(random: Random): string {
  return random.text(64, "0123456789abcdef");
}

function oddNumber(random: Random): number {
  return random.pick([0, -1, 1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1e300, 65536, 7]);
}

function oddName(random: Random, real: string): string {
  return random.pick([
    real,
    `${real}x`,
    "../../../etc/passwd",
    "/etc/passwd",
    "a/../../b",
    "",
    ".",
    "x\u0000y",
    "a\\b",
    "é/ü/😀",
    "n".repeat(1025),
    random.text(1 + random.int(40)),
  ]);
}

/** A token that is well-formed but unknown, malformed, or (now and then) the real one. */
function someToken(context: Context): unknown {
  const { random } = context;
  return random.pick<unknown>([
    context.token,
    random.text(43),
    random.text(1 + random.int(128)),
    "",
    "bad token!",
    "t".repeat(200),
    null,
    42,
  ]);
}

/** A tracker request of a random type with plausible but often wrong fields. */
export function trackerMessage(context: Context): Record<string, unknown> {
  const { random } = context;
  const token = someToken(context);
  switch (random.int(9)) {
    case 0:
      return { type: "heartbeat", token };
    case 1:
      return { type: "list", token, search: random.text(random.int(8)), all: random.int(2) === 1 };
    case 2:
      return { type: "details", token, name: oddName(random, context.file.name) };
    case 3:
      return { type: "locate", token, user: random.pick(["seeder", "nobody", "../x", ""]) };
    case 4:
      return {
        type: "report",
        token,
        name: oddName(random, context.file.name),
        sha256: random.pick([context.file.sha256, hex64(random)]),
        id: random.pick([context.file.id, hex64(random)]),
        source: random.pick(["seeder", "fuzzer", "nobody"]),
        ok: random.int(2) === 1,
        bytes: oddNumber(random),
        reason: random.pick(["closed", "corrupt", "nope", undefined]),
      };
    case 5:
      return {
        type: "announce",
        token,
        host: random.pick(["127.0.0.1", "", "h".repeat(300)]),
        port: random.pick([1, 0, 65536, 7071]),
        replace: random.int(2) === 1,
        files: Array.from({ length: random.int(4) }, () => ({
          name: oddName(random, `fuzz/${random.text(6)}`),
          size: oddNumber(random),
          chunkSize: random.pick([1, 0, 1 << 20]),
          sha256: hex64(random),
          chunkHashes: Array.from({ length: random.int(3) }, () => hex64(random)),
        })),
      };
    case 6:
      return { type: "logout", token: random.text(43) }; // never the real one: it must stay valid
    case 7:
      // Shapes that fail before any password is hashed: scrypt is slow by design.
      return {
        type: random.pick(["register", "login"]),
        username: random.pick(["", "a b", "x".repeat(33), 7, null]),
        password: random.pick([undefined, 12, ""]),
      };
    default:
      return { type: random.pick(["hello", "nope", "ping", "read", "__proto__"]), version: 1 };
  }
}

/** A peer request with plausible but often wrong fields; a few are valid reads of the real file. */
export function peerMessage(context: Context): Record<string, unknown> {
  const { random, file } = context;
  switch (random.int(6)) {
    case 0:
      return { type: "ping", nonce: random.pick<unknown>([random.int(1e6), -1, "x", 1.5]) };
    case 5:
      // A ticket that is well-formed or nearly so, but never signed by the tracker.
      return {
        type: "ticket",
        ticket: random.pick<unknown>([
          `${random.text(1 + random.int(300))}.${"A".repeat(86)}`,
          `eyJ1c2VyIjoiYSJ9.${"A".repeat(86)}`,
          "x".repeat(600),
          7,
        ]),
        proof: random.pick<unknown>(["A".repeat(86), random.text(86), null]),
      };
    case 1: {
      const offset = random.int(file.size);
      return {
        type: "read",
        name: file.name,
        sha256: file.sha256,
        offset,
        length: Math.min(file.size - offset, random.int(64 * 1024)),
      };
    }
    case 2:
      return {
        type: "read",
        name: oddName(random, file.name),
        sha256: random.pick([file.sha256, hex64(random), "xyz"]),
        offset: oddNumber(random),
        length: oddNumber(random),
      };
    case 3:
      return trackerMessage(context);
    default:
      return { type: "read", name: file.name, sha256: file.sha256, offset: file.size, length: 1 };
  }
}

/** Replaces, drops or adds one field of `message`. */
function mutateFields(context: Context, message: Record<string, unknown>): Record<string, unknown> {
  const { random } = context;
  const out = { ...message };
  const keys = Object.keys(out);
  const key = random.pick(keys);
  switch (random.int(3)) {
    case 0:
      delete out[key];
      break;
    case 1:
      out[key] = random.pick(context.json);
      break;
    default:
      out[random.text(1 + random.int(6))] = random.pick(context.json);
  }
  return out;
}

/** One random item: most are whole frames the server should answer, a few break the stream. */
function nextItem(context: Context, message: (context: Context) => Record<string, unknown>): Item {
  const { random } = context;
  const roll = random.int(100);
  if (roll < 30) return { bytes: frameOf(message(context)) };
  if (roll < 50) return { bytes: frameOf(mutateFields(context, message(context))) };
  if (roll < 62) return { bytes: frameOf(random.pick(context.json)) }; // valid JSON, wrong shape
  if (roll < 70) {
    // Valid JSON with invalid UTF-8 spliced into a string.
    const text = encoder.encode(JSON.stringify({ ...message(context), junk: "__" }));
    const at = text.lastIndexOf(0x5f);
    text.set(random.pick([[0xc3, 0x28], [0xff, 0xfe], [0xed, 0xa0]]), at - 1);
    return { bytes: encodeFrame(text) };
  }
  if (roll < 78) return { bytes: encodeFrame(random.bytes(random.int(200))) }; // random body
  if (roll < 84) {
    // A damaged valid frame: one byte flipped in the body.
    const frame = frameOf(message(context));
    const at = 4 + random.int(frame.length - 4);
    frame[at] = frame[at]! ^ (1 + random.int(255));
    return { bytes: frame };
  }
  if (roll < 85) {
    // A body at the size limit: the server buffers it in full, then refuses the JSON.
    return { bytes: encodeFrame(random.bytes(MAX_FRAME_BYTES - random.int(16))) };
  }
  if (roll < 90) {
    // A huge length prefix, then a little garbage.
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(
      0,
      random.pick([0xffffffff, MAX_FRAME_BYTES + 1, 0x7fffffff, 2 ** 24 + random.int(2 ** 30)]),
    );
    return { bytes: new Uint8Array([...header, ...random.bytes(random.int(64))]), last: true };
  }
  if (roll < 95) {
    // A truncated frame: the length promises more than ever comes.
    const frame = frameOf(message(context));
    return { bytes: frame.subarray(0, 1 + random.int(frame.length - 1)), last: true };
  }
  // Raw garbage, not framed at all.
  return { bytes: random.bytes(1 + random.int(300)), last: true };
}

/** Counts of what one target was sent and answered. */
export interface FuzzStats {
  /** Items sent. */
  frames: number;
  /** Connections opened. */
  connections: number;
  /** Error replies by code. */
  codes: Record<string, number>;
  /** Replies that were not errors. */
  answers: number;
}

/** Reads replies until the server hangs up, counting error codes; skips raw bytes after `data`. */
async function drainReplies(conn: Deno.TcpConn, stats: FuzzStats): Promise<void> {
  const reader = new FrameReader(conn);
  try {
    while (true) {
      const body = await reader.readFrame();
      if (body === null) return;
      const reply = decodeMessage(body);
      if (reply.type === "error") {
        const code = String(reply.code);
        stats.codes[code] = (stats.codes[code] ?? 0) + 1;
      } else {
        stats.answers++;
      }
      if (reply.type === "data" && typeof reply.length === "number") {
        await reader.readExact(new Uint8Array(reply.length));
      }
    }
  } catch {
    // reset by the server, or closed by our batch deadline
  }
}

/** Options of {@link fuzzTarget}. */
export interface FuzzOptions {
  /** Items to send in all. */
  frames: number;
  /** Connections open at once. */
  lanes: number;
  /** Stops sending when aborted, and closes the open connections. */
  signal: AbortSignal;
  /** A batch's connection is closed if the server has not finished answering within this. */
  batchMs?: number;
}

/**
 * Sends batches of fuzz items to `127.0.0.1:port`, `lanes` connections at a time, until `frames`
 * items were sent or `signal` aborts. Each batch is one connection: usually a `hello`, then up to
 * 60 items, then the write side is closed and the replies are drained until the server hangs up.
 *
 * @example
 * ```ts ignore
 * const stats = await fuzzTarget(port, context, trackerMessage, {
 *   frames: 3000,
 *   lanes: 10,
 *   signal: AbortSignal.timeout(15_000),
 * });
 * ```
 */
export async function fuzzTarget(
  port: number,
  context: Context,
  message: (context: Context) => Record<string, unknown>,
  options: FuzzOptions,
): Promise<FuzzStats> {
  const { frames: limit, signal: deadline } = options;
  const stats: FuzzStats = { frames: 0, connections: 0, codes: {}, answers: 0 };
  const { random } = context;
  const lane = async () => {
    while (!deadline.aborted && stats.frames < limit) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      stats.connections++;
      const batch = AbortSignal.timeout(options.batchMs ?? 5_000);
      const onAbort = () => conn.close();
      batch.addEventListener("abort", onAbort, { once: true });
      deadline.addEventListener("abort", onAbort, { once: true });
      const replies = drainReplies(conn, stats);
      try {
        if (random.int(10) > 0) await writeAll(conn, frameOf({ type: "hello", version: 1 }));
        const count = 1 + random.int(60);
        for (let i = 0; i < count && stats.frames < limit; i++) {
          const item = nextItem(context, message);
          stats.frames++; // counted before the write, so concurrent lanes never overshoot
          await writeAll(conn, item.bytes);
          if (item.last) break;
        }
        await conn.closeWrite();
      } catch {
        // the server hung up on us: that is one of the things being tested
      }
      await replies;
      batch.removeEventListener("abort", onAbort);
      deadline.removeEventListener("abort", onAbort);
      try {
        conn.close();
      } catch {
        // closed already
      }
    }
  };
  await Promise.all(Array.from({ length: options.lanes }, lane));
  return stats;
}
