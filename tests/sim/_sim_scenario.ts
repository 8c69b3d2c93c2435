/**
 * Swarm scenarios for the simulator: what they are made of, how they are drawn from a seed, and
 * the finish time a calm one must meet (the Kumar–Ross bound with a stated factor).
 *
 * @module
 */

/** The chunk size a scenario's MB/s refer to: a sim chunk takes as long as one of these. */
export const REAL_CHUNK_BYTES = 1024 * 1024;

export interface SeedSpec {
  /** Account. */
  user: string;
  /** Upload cap, MB/s (of 1 MiB chunks). */
  upMBps: number;
  /** When it starts serving, virtual ms from the start. */
  joinAt: number;
  /** When it stops (its connections close and the tracker lists it offline). */
  leaveAt?: number;
  /** When it serves again, on a new port, with a fresh seeding ledger (a new process). */
  returnAt?: number;
}

/** An honest downloader: it fetches the file in each round and serves what it has meanwhile. */
export interface DownloaderSpec {
  /** Account. */
  user: string;
  /** Upload cap, MB/s. */
  upMBps: number;
  /** Download cap, MB/s. */
  downMBps: number;
  /** When it starts in each round, virtual ms after the round starts. */
  startAt: number;
  /** Keeps serving the finished file until the round ends (else it withdraws at once). */
  stays: boolean;
  /** Quits (the process ends) this long after the round starts, finished or not. */
  quitAt?: number;
}

/** How a dishonest partial holder behaves. */
export type LiarKind =
  /** Advertises nothing, holds every `have` with `wait` until just before it runs out. */
  | "park"
  /** Advertises every chunk, then says `NOT_FOUND`. */
  | "claim"
  /** Advertises every chunk, then sends wrong bytes. */
  | "corrupt";

/** A made-up account posing as a partial holder, with inflated download counts. */
export interface LiarSpec {
  /** Account. */
  user: string;
  /** What it does. */
  kind: LiarKind;
  /** Its (inflated) download count at the tracker. */
  downloads: number;
}

/** Everything a simulation depends on: run it twice, get the same result. */
export interface Scenario {
  /** Seeds the chunk schedulers' tie-breaking. */
  seed: number;
  /** File size in bytes. */
  size: number;
  /** Chunk size in bytes. */
  chunkSize: number;
  /** Complete holders. */
  seeds: SeedSpec[];
  /** Honest downloaders. */
  downloaders: DownloaderSpec[];
  /** Dishonest partial holders. */
  liars: LiarSpec[];
  /** How many times the downloaders fetch the file, one round after the other. */
  rounds: number;
}

/** How one download of one round ended. */
export function rateOf(mbps: number, chunkSize: number): number {
  return mbps * 1000 * (chunkSize / REAL_CHUNK_BYTES);
}

/**
 * The finish time a calm scenario (no churn, no liars) must meet: {@link BOUND_FACTOR} times the
 * Kumar–Ross bound plus one chunk time at the slower of the seeds' upload and the slowest
 * download, plus {@link BOUND_SLACK_MS} for latency, ticks and `BUSY` retries.
 */
export function allowedFinish(s: Scenario): number {
  const rate = (mbps: number) => rateOf(mbps, s.chunkSize);
  const us = s.seeds.reduce((sum, x) => sum + rate(x.upMBps), 0);
  const downs = s.downloaders.map((d) => rate(d.downMBps));
  const bound = kumarRoss(s.size, us, s.downloaders.map((d) => rate(d.upMBps)), downs);
  const chunkTime = Math.min(s.size, s.chunkSize) / Math.min(us, ...downs);
  return BOUND_FACTOR * (bound + chunkTime) + BOUND_SLACK_MS;
}

/** See {@link allowedFinish}. */
export const BOUND_FACTOR = 6;

/** See {@link allowedFinish}. */
export const BOUND_SLACK_MS = 3_000;

/**
 * The Kumar–Ross lower bound on the time for `n` downloaders to get a file of `f` bytes from
 * seeds of total upload `us`: max(f / us, f / dMin, n·f / (us + Σu)).
 */
export function kumarRoss(f: number, us: number, ups: number[], downs: number[]): number {
  if (f === 0 || ups.length === 0) return 0;
  const dMin = Math.min(...downs);
  const total = us + ups.reduce((a, b) => a + b, 0);
  return Math.max(f / us, f / dMin, (ups.length * f) / total);
}

/** A small seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function scenarioFrom(seed: number): Scenario {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const between = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const chunkSize = pick([1024, 2048, 4096]);
  const k = between(1, 48);
  const size = Math.max(
    0,
    pick([
      0,
      1,
      chunkSize - 1,
      chunkSize,
      chunkSize + 1,
      k * chunkSize - 1,
      k * chunkSize,
      k * chunkSize + 1,
      between(0, k * chunkSize),
    ]),
  );
  const cap = () => pick([1, 2, 5, 10, 20, 50, 100]);
  const churn = r() < 0.45;
  const seeds: SeedSpec[] = Array.from({ length: r() < 0.8 ? 1 : 2 }, (_, i) => {
    const spec: SeedSpec = { user: `seed${i}`, upMBps: cap(), joinAt: 0 };
    if (churn && r() < 0.4) spec.joinAt = between(0, 20_000);
    if (churn && r() < 0.5) {
      spec.leaveAt = spec.joinAt + between(100, 30_000);
      if (r() < 0.8) spec.returnAt = spec.leaveAt + between(500, 40_000);
    }
    return spec;
  });
  const n = r() < 0.7 ? between(1, 8) : between(1, 40);
  const downloaders: DownloaderSpec[] = Array.from({ length: n }, (_, i) => {
    const spec: DownloaderSpec = {
      user: `d${i}`,
      upMBps: cap(),
      downMBps: cap(),
      startAt: churn && r() < 0.5 ? between(0, 10_000) : 0,
      stays: r() < 0.5,
    };
    if (churn && r() < 0.15) spec.quitAt = between(0, 30_000);
    return spec;
  });
  const liars: LiarSpec[] = r() < 0.3
    ? Array.from({ length: between(1, 4) }, (_, i) => ({
      user: `liar${i}`,
      kind: pick(["park", "claim", "corrupt"] as const),
      downloads: between(0, 200),
    }))
    : [];
  const rounds = r() < 0.7 ? 1 : between(2, 3);
  return { seed, size, chunkSize, seeds, downloaders, liars, rounds };
}

/** Whether `scenario` has no churn and no liars (the bound applies to it). */
export function isCalm(scenario: Scenario): boolean {
  return scenario.liars.length === 0 &&
    scenario.seeds.every((s) => s.joinAt === 0 && s.leaveAt === undefined) &&
    scenario.downloaders.every((d) => d.startAt === 0 && d.quitAt === undefined);
}

/** What reading a connection the other side closed throws, as on a real socket. */
