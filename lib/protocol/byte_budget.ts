/**
 * A byte budget shared by every connection of a process: a frame larger than a connection's
 * standing read buffer must reserve its bytes here before its body is read, and gives them back
 * once it is complete (or the connection fails). When the budget is spent, a reservation waits its
 * turn (first come, first served) for at most {@link FRAME_BUDGET_WAIT_MS}; then it is refused with
 * `BUSY` and that connection is closed. So however many connections announce large frames, the
 * memory their partly received bodies hold stays under the budget.
 *
 * @module
 */
import { ProtocolError } from "./errors.ts";
import { FRAME_BUDGET_BYTES, FRAME_BUDGET_WAIT_MS } from "./limits.ts";

interface Waiter {
  bytes: number;
  grant: () => void;
}

/**
 * A counted pool of bytes with first-come-first-served waiting.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteBudget } from "./byte_budget.ts";
 * const budget = new ByteBudget(100, { waitMs: 10 });
 * await budget.take(60);
 * await assert.rejects(budget.take(60), { code: "BUSY" });
 * budget.give(60);
 * assert.equal(budget.available, 100);
 * ```
 */
export class ByteBudget {
  /** Total bytes. */
  readonly capacity: number;
  readonly #waitMs: number;
  #used = 0;
  readonly #waiters: Waiter[] = [];

  /** A budget of `capacity` bytes; a reservation waits at most `waitMs` (default 5 s). */
  constructor(capacity: number = FRAME_BUDGET_BYTES, options: { waitMs?: number } = {}) {
    if (!(Number.isInteger(capacity) && capacity > 0)) {
      throw new RangeError(`Cannot make a byte budget: ${capacity} is not a positive whole number`);
    }
    this.capacity = capacity;
    this.#waitMs = options.waitMs ?? FRAME_BUDGET_WAIT_MS;
  }

  /** Bytes not reserved now. */
  get available(): number {
    return this.capacity - this.#used;
  }

  /** Reservations waiting now. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Reserves `bytes`, waiting behind earlier reservations; rejects with a `BUSY`
   * {@link ProtocolError} after the wait limit, or when `signal` aborts.
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (bytes > this.capacity) {
      return Promise.reject(
        new ProtocolError(
          "BUSY",
          `Cannot accept frame: ${bytes} bytes exceed the budget of ${this.capacity}`,
        ),
      );
    }
    if (this.#waiters.length === 0 && bytes <= this.available) {
      this.#used += bytes;
      return Promise.resolve();
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const waiter: Waiter = {
      bytes,
      grant: () => {
        cleanup();
        resolve();
      },
    };
    const fail = (error: unknown) => {
      const at = this.#waiters.indexOf(waiter);
      if (at >= 0) this.#waiters.splice(at, 1);
      cleanup();
      reject(error);
      this.#grant(); // a large waiter leaving may let smaller ones behind it through
    };
    const timer = setTimeout(() =>
      fail(
        new ProtocolError(
          "BUSY",
          `Cannot accept frame: ${this.capacity} bytes of frames are being received; try again later`,
        ),
      ), this.#waitMs);
    const onAbort = () => fail(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    this.#waiters.push(waiter);
    return promise;
  }

  /** Gives back `bytes` reserved earlier and lets waiting reservations through. */
  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
    this.#grant();
  }

  #grant(): void {
    while (this.#waiters.length > 0 && this.#waiters[0]!.bytes <= this.available) {
      const waiter = this.#waiters.shift()!;
      this.#used += waiter.bytes;
      waiter.grant();
    }
  }
}

let shared: ByteBudget | undefined;

/** The process's shared frame budget ({@link FRAME_BUDGET_BYTES}), made on first use. */
export function sharedFrameBudget(): ByteBudget {
  return shared ??= new ByteBudget();
}
