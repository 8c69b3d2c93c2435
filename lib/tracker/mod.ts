/**
 * The tracker: accounts and sessions, the index of who shares which file, liveness and transfer
 * counts, all kept in Deno KV, served over TCP.
 *
 * @module
 */
export * from "./password.ts";
export * from "./token.ts";
export * from "./store.ts";
export * from "./account_store.ts";
export * from "./index_store.ts";
export * from "./count_store.ts";
export * from "./throttle_store.ts";
export * from "./ticket_key_store.ts";
export * from "./change_log.ts";
export {
  type KvStoreOptions,
  STORE_LAYOUT,
  StoreError,
  type StoreErrorCode,
} from "./kv_plumbing.ts";
export * from "./service.ts";
export * from "./paging.ts";
export * from "./connection.ts";
export * from "./server.ts";
export * from "./login_throttle.ts";
export * from "./registration_limit.ts";
export * from "./report_grants.ts";
export * from "./unauthenticated_slots.ts";
export * from "./ticket_issuer.ts";
export * from "./partial_holders.ts";
export * from "./progress_grants.ts";
export * from "./tracker_error.ts";
export * from "./accounts.ts";
export * from "./liveness.ts";
export * from "./holder_index.ts";
export * from "./index_follower.ts";
export * from "./file_index.ts";
export * from "./reports.ts";
export * from "./admin.ts";
