/**
 * A virtual clock for the swarm simulator: time moves only when the simulator says so, timers fire
 * in order of their time (then of their creation), and nothing waits for real time.
 *
 * @module
 */
import type { Clock } from "../../lib/peer/clock.ts";

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A {@link Clock} whose time the simulator advances. */
export class VirtualClock implements Clock {
  #now = 0;
  #seq = 0;
  readonly #heap: Timer[] = [];

  /** Virtual milliseconds since the start. */
  now(): number {
    return this.#now;
  }

  /** Resolves once the clock reaches `now() + ms`, or at once on abort. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => {
        timer.cancelled = true;
        resolve();
      };
      const timer = this.at(this.#now + Math.max(0, ms), () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void {
    let timer: { cancelled: boolean };
    const arm = () => {
      timer = this.at(this.#now + Math.max(1, ms), () => {
        fn();
        if (!stopped) arm();
      });
    };
    let stopped = false;
    arm();
    return () => {
      stopped = true;
      timer.cancelled = true;
    };
  }

  /** Runs `fn` when the clock reaches `time`; the timer can be cancelled. */
  at(time: number, fn: () => void): { cancelled: boolean } {
    const timer: Timer = { at: Math.max(time, this.#now), seq: this.#seq++, fn, cancelled: false };
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
    return timer;
  }

  /** When the next live timer is due, or Infinity. */
  nextAt(): number {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
    return this.#heap[0]?.at ?? Infinity;
  }

  /** Moves time to `time` (never back). */
  advanceTo(time: number): void {
    this.#now = Math.max(this.#now, time);
  }

  /** Fires every timer due by now, in order. */
  fireDue(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.at <= this.#now) {
      const timer = this.#pop();
      if (!timer.cancelled) timer.fn();
    }
  }

  #pop(): Timer {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
