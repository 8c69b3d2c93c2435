/**
 * A serving peer's answers to `have`: which chunks of a version it offers a downloader. A file
 * this peer is downloading offers the chunks it has verified (see `swarm_files.ts`), and a `have`
 * with `wait` is held until it has more than it last told this connection (or `HAVE_WAIT_MS`). A
 * complete file offers the whole file, or, with a {@link SeedLedger}, what super-seeding picks.
 *
 * Super-seeding: a source that holds the whole file advertises to each downloader only the chunks
 * it has sent least often (and not yet on that connection), so its upload spreads distinct chunks
 * over the swarm and no chunk goes out twice while others have not gone out once; the downloaders
 * trade the rest among themselves. It asks again with `have` when it runs out. Super-seeding never
 * hides the only copies of what a downloader needs: a downloader that asks `have` again on a
 * connection without reading anything since the last answer has none of the advertised chunks to
 * fetch (it holds them, or others are fetching them), so each such ask widens the answer by one
 * count level, up to the whole file ({@link seedHave}). Hiding them is what kept a class's second
 * round at 93 % for ever: the ledger still counted the first round, advertised chunks every
 * downloader already had, and never changed. The ledger (chunks sent per version) is shared by
 * the server's connections; each connection keeps its own {@link SeedView} per version
 * ({@link HaveReplies}), fed by the reads it serves.
 *
 * @module
 */
import { BoundedMap } from "../common/mod.ts";
import { encodeHaveMap, HAVE_WAIT_MS, type OutgoingMessage } from "../protocol/mod.ts";
import { Refusal } from "./_refusal.ts";
import { type ConnectionTickets, versionOf } from "./read_grants.ts";
import type { ReadSource, ShareView } from "./share_reader.ts";

/** The part of a `have` request the answer looks at. */
export interface HaveRequest {
  /** The file's name in the share. */
  name: string;
  /** The version (manifest id). */
  id: string;
  /** Hold the answer until there is more than last told (a partial file). */
  wait?: boolean;
}

/** Versions whose super-seeding view one connection keeps. */
const VIEWS_PER_CONNECTION = 16;

/**
 * The `have` answers of one connection, and the super-seeding bookkeeping they need: what was told
 * and sent on this connection per version, and the server's {@link SeedLedger}.
 *
 * @example
 * ```ts ignore
 * const haves = new HaveReplies(share, tickets, ledger);
 * const reply = await haves.answer(request, signal); // a `have` message, or throws a refusal
 * haves.noteSent(source, { offset, length }); // each `read` served on this connection
 * ```
 */
export class HaveReplies {
  readonly #share: ShareView;
  readonly #tickets: ConnectionTickets;
  readonly #ledger: SeedLedger | undefined;
  /** Per version: what super-seeding told this connection (oldest forgotten first). */
  readonly #views = new BoundedMap<string, SeedView>(VIEWS_PER_CONNECTION);
  /** Per version: chunks the last `have` reply counted (partial files). */
  readonly #told = new Map<string, number>();

  /** Answers for one connection into `share`, which showed `tickets`; `ledger` for super-seeding. */
  constructor(share: ShareView, tickets: ConnectionTickets, ledger?: SeedLedger) {
    this.#share = share;
    this.#tickets = tickets;
    this.#ledger = ledger;
  }

  /**
   * The `have` reply to `request` (held first when it asks to `wait`). Throws a refusal without a
   * ticket for the version (`FORBIDDEN`) or when the version is not served here (`GONE`).
   */
  async answer(request: HaveRequest, signal?: AbortSignal): Promise<OutgoingMessage> {
    if (request.wait) await this.#waitForMore(request, signal);
    const reply = this.#reply(request);
    this.#told.set(request.id, this.#countHave(request));
    return reply;
  }

  /** Records the chunks a `read` sends, on this connection and in the seeding ledger. */
  noteSent(source: ReadSource, range: { offset: number; length: number }): void {
    if (range.length === 0) return;
    const chunks = Math.max(1, Math.ceil(source.size / source.chunkSize));
    const view = this.#viewOf(source.id, chunks);
    const first = Math.floor(range.offset / source.chunkSize);
    const last = Math.floor((range.offset + range.length - 1) / source.chunkSize);
    for (let i = first; i <= last && i < chunks; i++) {
      if (view.sent(i)) this.#ledger?.sent(source.id, chunks, i);
    }
  }

  /** The verified chunks of a partial file, or a complete file's (super-seeding) map. */
  #reply(request: HaveRequest): OutgoingMessage {
    if (!this.#tickets.allows(request.id)) {
      throw new Refusal(
        "FORBIDDEN",
        `Cannot tell chunks of ${request.name}: no ticket for this version was shown on this connection`,
      );
    }
    const partial = this.#share.partial?.(request.name);
    const entry = this.#share.lookup(request.name);
    if (entry && versionOf(entry) === request.id) {
      const chunks = entry.chunkHashes.length;
      if (!this.#ledger) {
        return {
          type: "have",
          id: request.id,
          bits: encodeHaveMap(new Uint8Array(chunks).fill(1)),
          complete: true,
        };
      }
      const { have, complete } = seedHave(
        this.#ledger,
        request.id,
        this.#viewOf(request.id, chunks),
      );
      return { type: "have", id: request.id, bits: encodeHaveMap(have), complete };
    }
    if (partial && partial.id === request.id) {
      const complete = partial.have.every((b) => b === 1);
      return { type: "have", id: request.id, bits: encodeHaveMap(partial.have), complete };
    }
    throw new Refusal("GONE", `Cannot tell chunks of ${request.name}: not shared here`);
  }

  /** The super-seeding view of version `id` on this connection. */
  #viewOf(id: string, chunks: number): SeedView {
    let view = this.#views.peek(id);
    if (!view || view.sentHere.length !== chunks) this.#views.set(id, view = new SeedView(chunks));
    return view;
  }

  /** Chunks of a partial file verified so far (-1 for any other file). */
  #countHave(request: HaveRequest): number {
    const partial = this.#share.partial?.(request.name);
    if (!partial || partial.id !== request.id) return -1;
    let count = 0;
    for (const b of partial.have) count += b;
    return count;
  }

  /** Holds a `have` with `wait` until a partial file has more than last told, or `HAVE_WAIT_MS`. */
  async #waitForMore(request: HaveRequest, signal: AbortSignal | undefined): Promise<void> {
    const before = this.#told.get(request.id);
    const files = this.#share.swarm;
    if (before === undefined || !files) return;
    const deadline = Date.now() + HAVE_WAIT_MS;
    while (this.#countHave(request) === before && this.#countHave(request) >= 0) {
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return;
      await files.waitForMore(request.name, left, signal);
    }
  }
}

/** Counts of chunks sent per version, for super-seeding. */
export class SeedLedger {
  /** Per version; the least recently used are forgotten past 1000 versions. */
  readonly #sent = new BoundedMap<string, Uint32Array>(1000);

  /** Records that chunk `index` of version `id` (of `chunks` chunks) went out. */
  sent(id: string, chunks: number, index: number): void {
    const counts = this.#counts(id, chunks);
    if (index >= 0 && index < chunks) counts[index]!++;
  }

  /**
   * The chunks to advertise on a connection that was already sent `sentHere`: those not sent
   * there whose count is the lowest among them. `complete` is true when that is every chunk.
   */
  advertise(
    id: string,
    chunks: number,
    sentHere: Uint8Array,
    widen = 0,
  ): { have: Uint8Array; complete: boolean } {
    const counts = this.#counts(id, chunks);
    let min = Infinity;
    for (let i = 0; i < chunks; i++) if (!sentHere[i] && counts[i]! < min) min = counts[i]!;
    const have = new Uint8Array(chunks);
    let all = true;
    for (let i = 0; i < chunks; i++) {
      if (!sentHere[i] && counts[i]! <= min + widen) have[i] = 1;
      else all = false;
    }
    return { have, complete: all };
  }

  /** How far the counts of not-yet-sent chunks spread above their lowest (0: all equal). */
  spread(id: string, chunks: number, sentHere: Uint8Array): number {
    const counts = this.#counts(id, chunks);
    let min = Infinity, max = -Infinity;
    for (let i = 0; i < chunks; i++) {
      if (sentHere[i]) continue;
      min = Math.min(min, counts[i]!);
      max = Math.max(max, counts[i]!);
    }
    return max >= min ? max - min : 0;
  }

  #counts(id: string, chunks: number): Uint32Array {
    let counts = this.#sent.get(id);
    if (!counts || counts.length !== chunks) {
      counts = new Uint32Array(chunks);
      this.#sent.set(id, counts);
    }
    return counts;
  }
}

/** What super-seeding told one connection about one version (see {@link seedHave}). */
export class SeedView {
  /** One byte per chunk: 1 once sent on this connection. */
  readonly sentHere: Uint8Array;
  /** Whether a `have` was answered on this connection. */
  told = false;
  /** Whether a chunk was sent since the last `have` answer. */
  readSinceTold = false;
  /** How many times in a row the downloader asked again without reading (see {@link seedHave}). */
  parked = 0;

  /** A view of a version of `chunks` chunks. */
  constructor(chunks: number) {
    this.sentHere = new Uint8Array(chunks);
  }

  /** Records that chunk `index` went out on this connection; true the first time. */
  sent(index: number): boolean {
    this.readSinceTold = true;
    if (index < 0 || index >= this.sentHere.length || this.sentHere[index]) return false;
    this.sentHere[index] = 1;
    return true;
  }
}

/**
 * A complete holder's answer to `have` under super-seeding: the least-sent chunks not yet sent on
 * this connection. A downloader that asks again without having read anything since the last answer
 * found none of them of use (it holds them, or others are fetching them): each such ask widens the
 * answer by one count level (the chunks sent least and once more than that, and so on), so the
 * seed still spreads what it sends, and once the levels cover every count the answer is the whole
 * file, chunks sent on this connection before included (one may have been lost to a rotation).
 * So super-seeding never hides the only copies of what a downloader needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SeedLedger, SeedView, seedHave } from "./have_replies.ts";
 * const ledger = new SeedLedger();
 * ledger.sent("v", 2, 0);
 * const view = new SeedView(2);
 * assert.deepEqual([...seedHave(ledger, "v", view).have], [0, 1]);
 * assert.deepEqual([...seedHave(ledger, "v", view).have], [1, 1]); // asked again, nothing read
 * ```
 */
export function seedHave(
  ledger: SeedLedger,
  id: string,
  view: SeedView,
): { have: Uint8Array; complete: boolean } {
  const chunks = view.sentHere.length;
  view.parked = view.told && !view.readSinceTold ? view.parked + 1 : 0;
  view.told = true;
  view.readSinceTold = false;
  if (view.parked > ledger.spread(id, chunks, view.sentHere)) {
    return { have: new Uint8Array(chunks).fill(1), complete: true };
  }
  return ledger.advertise(id, chunks, view.sentHere, view.parked);
}
