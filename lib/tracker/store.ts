/**
 * The tracker's state, opened as one: five role stores over one KV ({@link openKvStores}), each
 * owning its keys and behind its own small interface, so a caller depends on the role it uses:
 *
 * | role | interface | owns |
 * |------|-----------|------|
 * | `accounts` | {@link AccountStore} (`account_store.ts`) | users, sessions, invitations, held names, admin audit |
 * | `index` | {@link IndexStore} (`index_store.ts`) | addresses, liveness, holders, shares, manifests, partial holders, reading the change log |
 * | `counts` | {@link CountStore} (`count_store.ts`) | transfer counts, outcome counting, report and progress grants, transfers, transfer audit, request counters |
 * | `throttles` | {@link ThrottleStore} (`throttle_store.ts`) | login failures, registration buckets |
 * | `tickets` | {@link TicketKeyStore} (`ticket_key_store.ts`) | the key pair that signs read tickets |
 *
 * Commits, retries, batching, appending to the change log, the key layout and its migration live
 * in `kv_plumbing.ts`; the change log's shapes in `change_log.ts`. {@link KvTrackerStore} is every
 * role in one object, for code that reads a bit of everything (the dashboard, tools, tests).
 *
 * @module
 */
import { type AccountStore, KvAccountStore } from "./account_store.ts";
import { type CountStore, KvCountStore } from "./count_store.ts";
import { type IndexStore, KvIndexStore } from "./index_store.ts";
import { KvPlumbing, type KvStoreOptions, migrateLayout } from "./kv_plumbing.ts";
import { KvThrottleStore, type ThrottleStore } from "./throttle_store.ts";
import { KvTicketKeyStore, type TicketKeyStore } from "./ticket_key_store.ts";

/** The tracker's state by role. */
export interface TrackerStores {
  /** Users, sessions, invitations, held names, admin audit. */
  readonly accounts: AccountStore;
  /** Addresses, liveness, holders, manifests, partial holders, the change log. */
  readonly index: IndexStore;
  /** Transfer counts, grants, transfers, request counters. */
  readonly counts: CountStore;
  /** Login back-off and registration buckets. */
  readonly throttles: ThrottleStore;
  /** The ticket signing keys. */
  readonly tickets: TicketKeyStore;
}

/** Every role's methods in one interface, for code that reads a bit of everything. */
export interface TrackerStore
  extends AccountStore, IndexStore, CountStore, ThrottleStore, TicketKeyStore, AsyncDisposable {}

/** The role stores on one open KV, closed together. */
export interface KvStores extends TrackerStores, AsyncDisposable {
  /** This process's name as a writer of the change log. */
  readonly writer: string;
}

/**
 * Opens the role stores on the KV at a file path, `:memory:`, or a remote KV URL, migrating an
 * older key layout first (`migrateLayout` in `kv_plumbing.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKvStores } from "./store.ts";
 * await using stores = await openKvStores(":memory:");
 * assert.equal(await stores.accounts.founded(), false);
 * assert.deepEqual(await stores.index.listPeers(), new Map());
 * ```
 */
export async function openKvStores(path: string, options: KvStoreOptions = {}): Promise<KvStores> {
  const kv = await Deno.openKv(path);
  try {
    await migrateLayout(kv);
  } catch (error) {
    kv.close();
    throw error;
  }
  const plumbing = new KvPlumbing(kv, options);
  return {
    accounts: new KvAccountStore(plumbing),
    index: new KvIndexStore(plumbing),
    counts: new KvCountStore(plumbing),
    throttles: new KvThrottleStore(plumbing),
    tickets: new KvTicketKeyStore(plumbing),
    writer: plumbing.writer,
    [Symbol.asyncDispose]: () => plumbing[Symbol.asyncDispose](),
  };
}

/** Every role's methods and the roles: the class {@link KvTrackerStore} gets them when made. */
export interface KvTrackerStore extends TrackerStore, KvStores {}

/**
 * Every role store on one KV in one object: each role's methods, and the roles themselves
 * ({@link KvStores}) for code that takes a role.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvTrackerStore } from "./store.ts";
 * await using store = await KvTrackerStore.open(":memory:");
 * assert.ok(await store.getUser("nobody") === null);
 * assert.ok(await store.accounts.getUser("nobody") === null);
 * ```
 */
export class KvTrackerStore {
  readonly #stores: KvStores;

  private constructor(stores: KvStores) {
    this.#stores = stores;
    const { accounts, index, counts, throttles, tickets, writer } = stores;
    Object.assign(this, { accounts, index, counts, throttles, tickets, writer });
    for (const role of [accounts, index, counts, throttles, tickets]) {
      const prototype = Object.getPrototypeOf(role);
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const method = Object.getOwnPropertyDescriptor(prototype, name)?.value;
        if (name === "constructor" || typeof method !== "function") continue;
        Object.defineProperty(this, name, { value: method.bind(role) });
      }
    }
  }

  /** Opens every role store at a file path, `:memory:`, or a remote KV URL ({@link openKvStores}). */
  static async open(path: string, options: KvStoreOptions = {}): Promise<KvTrackerStore> {
    return new KvTrackerStore(await openKvStores(path, options));
  }

  /** Closes the KV. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#stores[Symbol.asyncDispose]();
  }
}
