/**
 * The simulator's network: fluid flows between endpoints with upload and download caps. A flow's
 * rate is its fair share of the sender's upload and of the receiver's download
 * (`min(up / uploads, down / downloads)`), recomputed whenever a flow starts or ends.
 *
 * @module
 */

/** One peer's link: caps in bytes per virtual ms, and the flows under way. */
export class Endpoint {
  uploads = 0;
  downloads = 0;
  constructor(readonly up: number, readonly down: number) {}
}

interface Flow {
  from: Endpoint;
  to: Endpoint;
  left: number;
  rate: number;
  done: () => void;
}

/** Every flow under way. */
export class Network {
  readonly #flows = new Set<Flow>();
  #at = 0;

  /** Moves `bytes` from `from` to `to`; resolves when the last byte is there (or never, once cancelled). */
  transfer(now: number, from: Endpoint, to: Endpoint, bytes: number): {
    arrived: Promise<void>;
    cancel: () => void;
  } {
    this.#settle(now);
    let flow: Flow | undefined;
    const arrived = new Promise<void>((resolve) => {
      flow = { from, to, left: bytes, rate: 0, done: resolve };
    });
    this.#flows.add(flow!);
    from.uploads++;
    to.downloads++;
    this.#rates();
    return { arrived, cancel: () => this.#remove(flow!, now) };
  }

  /** When the next flow completes (Infinity: none runs). */
  nextAt(): number {
    let next = Infinity;
    for (const f of this.#flows) next = Math.min(next, this.#at + Math.max(0, f.left) / f.rate);
    return next;
  }

  /** Moves time to `now`, completing the flows that are done. */
  advance(now: number): void {
    this.#settle(now);
    const done = [...this.#flows].filter((f) => f.left <= 1e-6);
    for (const f of done) {
      this.#drop(f);
      f.done();
    }
    if (done.length > 0) this.#rates();
  }

  #remove(flow: Flow, now: number): void {
    if (!this.#flows.has(flow)) return;
    this.#settle(Math.max(now, this.#at));
    this.#drop(flow);
    this.#rates();
  }

  #drop(flow: Flow): void {
    this.#flows.delete(flow);
    flow.from.uploads--;
    flow.to.downloads--;
  }

  #settle(now: number): void {
    const dt = now - this.#at;
    if (dt > 0) { for (const f of this.#flows) f.left -= f.rate * dt; }
    this.#at = Math.max(this.#at, now);
  }

  #rates(): void {
    for (const f of this.#flows) {
      f.rate = Math.min(f.from.up / f.from.uploads, f.to.down / f.to.downloads);
    }
  }
}
