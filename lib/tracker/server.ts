/**
 * The tracker's TCP server: opens the store, listens, and serves every connection concurrently.
 *
 * @module
 */
import { sleep } from "../common/mod.ts";
import {
  ByteBudget,
  type ConnectionLimits,
  DEFAULT_TRACKER_PORT,
  GroupCap,
  listen,
  MAX_CONNECTIONS_PER_ACCOUNT,
  serveListener,
  type ServerTls,
  type TrackerRequest,
} from "../protocol/mod.ts";
import { type ConnectionOptions, serveTrackerConnection } from "./connection.ts";
import {
  type Reply,
  type RequestContext,
  TrackerError,
  TrackerService,
  type TrackerServiceOptions,
} from "./service.ts";
import type { PartialHolders } from "./partial_holders.ts";
import type { StoredTransfer } from "./count_store.ts";
import { KvTrackerStore, type TrackerStore, type TrackerStores } from "./store.ts";
import { hashToken } from "./token.ts";
import { UnauthenticatedSlots } from "./unauthenticated_slots.ts";

/**
 * One request the tracker answered, for observers such as the dashboard. It never carries a
 * password or a token.
 */
export interface TrackerEvent {
  /** The request's type. */
  type: TrackerRequest["type"];
  /** Who asked: the session's user, or the name given to `register`/`login`; null if unknown. */
  user: string | null;
  /** `ok`, or the code of the error reply (`INTERNAL` for a crash). */
  outcome: string;
  /** When the reply was ready, ms since the epoch. */
  at: number;
  /** How long the request took to handle, in ms. */
  ms: number;
  /** What a `report` said. */
  report?: Pick<StoredTransfer, "name" | "sha256" | "source" | "ok" | "bytes" | "reason">;
}

/** How often the tracker removes manifests that no holder announced for a day. */
export const COLLECT_INTERVAL_MS = 600_000;

/** Most manifests removed in one commit-bounded batch. */
const COLLECT_BATCH = 100;

/** Settings of {@link startTracker}. */
export interface TrackerOptions
  extends
    TrackerServiceOptions,
    Omit<ConnectionOptions, "signal" | "unauthenticated" | "accounts">,
    ConnectionLimits {
  /** Most connections at once that have not logged in; default 128. */
  maxUnauthenticated?: number;
  /** Most logged-in connections of one account at once; default 32. */
  maxPerAccount?: number;
  /** Bytes of large frames being received at once (shared by all connections); default 64 MiB. */
  frameBudgetBytes?: number;
  /** Address to listen on. Default 127.0.0.1. */
  hostname?: string;
  /** Port to listen on; 0 picks a free one. Default 7070. */
  port?: number;
  /** KV location: a file path, `:memory:` or a remote URL. Default `./data/tracker.kv`. */
  kvPath?: string;
  /** Serve over TLS with this certificate and key. */
  tls?: ServerTls;
  /** Listen on a port other processes listen on too (`--workers`; needs `--unstable-net`). */
  reusePort?: boolean;
  /** Called after every request the service answered (not for `hello` or unparsable input). */
  onEvent?: (event: TrackerEvent) => void;
}

/** A running tracker. */
export interface RunningTracker extends AsyncDisposable {
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
  /** Its state, for read-only observers (the dashboard); open until {@link close}. */
  readonly store: TrackerStore;
  /** Its request handling (the dashboard reads its holder index). */
  readonly service: TrackerService;
  /** Heartbeat interval peers are told to keep; a peer silent for 3 is offline. */
  readonly heartbeatMs: number;
  /** Downloads in progress that serve what they have (read only, for the dashboard). */
  readonly partialHolders: PartialHolders;
  /** Stops listening, closes every connection and the store. */
  close(): Promise<void>;
}

/**
 * Starts a tracker.
 *
 * @example
 * ```ts ignore
 * await using tracker = await startTracker({ port: 0, kvPath: ":memory:" });
 * console.log(tracker.addr.port);
 * ```
 */
export async function startTracker(options: TrackerOptions = {}): Promise<RunningTracker> {
  const listener = listen({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? DEFAULT_TRACKER_PORT,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.reusePort ? { reusePort: true } : {}),
  });
  const where = listener.addr as Deno.NetAddr;
  // Its name in the cluster's counters: where it listens, and which worker it is.
  const trackerId = options.trackerId ??
    `${where.hostname}:${where.port}${options.workerId ? `/${options.workerId}` : ""}`;
  let store: KvTrackerStore;
  try {
    store = await KvTrackerStore.open(options.kvPath ?? "./data/tracker.kv");
  } catch (error) {
    listener.close();
    throw error;
  }
  const serviceOptions = { ...options, trackerId };
  const service = options.onEvent
    ? new ObservedService(store, serviceOptions, options.onEvent)
    : new TrackerService(store, serviceOptions);
  try {
    await service.start((error) => options.onLog?.(`background work failed: ${error}`));
  } catch (error) {
    listener.close();
    await store[Symbol.asyncDispose]();
    throw error;
  }
  const unauthenticated = new UnauthenticatedSlots(options.maxUnauthenticated);
  const accounts = new GroupCap(options.maxPerAccount ?? MAX_CONNECTIONS_PER_ACCOUNT);
  const frameBudget = options.frameBudget ??
    (options.frameBudgetBytes ? new ByteBudget(options.frameBudgetBytes) : undefined);
  const served = serveListener(
    listener,
    (conn, signal) =>
      serveTrackerConnection(conn, service, {
        ...options,
        unauthenticated,
        accounts,
        ...(frameBudget ? { frameBudget } : {}),
        signal,
      }),
    options,
  );
  // Manifests nobody announced for a day go, in batches, at start and every 10 minutes.
  let collecting: Promise<void> | undefined;
  const collect = () => {
    collecting ??= (async () => {
      try {
        while ((await service.collectManifests(COLLECT_BATCH)) === COLLECT_BATCH) {
          await sleep(50);
        }
      } catch {
        // the next round tries again; a closed store ends the rounds
      } finally {
        collecting = undefined;
      }
    })();
  };
  collect();
  const collector = setInterval(collect, COLLECT_INTERVAL_MS);
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      clearInterval(collector);
      await served.close();
      await collecting;
      await service.stop();
      await store[Symbol.asyncDispose]();
    })();
  return {
    addr: served.addr,
    store,
    service,
    heartbeatMs: service.heartbeatMs,
    partialHolders: service.files.partial,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A {@link TrackerService} that tells `onEvent` about every request it answered. */
class ObservedService extends TrackerService {
  readonly #onEvent: (event: TrackerEvent) => void;
  readonly #now: () => number;

  constructor(
    store: TrackerStores,
    options: TrackerServiceOptions,
    onEvent: (event: TrackerEvent) => void,
  ) {
    super(store, options);
    this.#onEvent = onEvent;
    this.#now = options.now ?? Date.now;
  }

  override async handle(request: TrackerRequest, context: RequestContext = {}): Promise<Reply> {
    const started = performance.now();
    // Who asks is read before handling: a logout deletes the session it names.
    const user = "token" in request
      ? await this.userOf(hashToken(request.token))
      : "username" in request
      ? request.username
      : null;
    let outcome = "ok";
    try {
      const reply = await super.handle(request, context);
      if (reply.counted === false) outcome = "not_counted";
      return reply;
    } catch (error) {
      outcome = error instanceof TrackerError ? error.code : "INTERNAL";
      throw error;
    } finally {
      const event: TrackerEvent = {
        type: request.type,
        user,
        outcome,
        at: this.#now(),
        ms: performance.now() - started,
      };
      if (request.type === "report") {
        const { name, sha256, source, ok, bytes } = request;
        event.report = { name, sha256, source, ok, bytes, reason: request.reason ?? null };
      }
      try {
        this.#onEvent(event);
      } catch {
        // an observer's bug must not change the reply
      }
    }
  }
}
