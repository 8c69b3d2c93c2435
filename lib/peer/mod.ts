/**
 * The peer: indexing a shared folder, serving it to other peers, talking to the tracker, ranking
 * sources and downloading with verification.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./chunking.ts";
export * from "./share_index.ts";
export * from "./peer_server.ts";
export * from "./read_grants.ts";
export * from "./peer_client.ts";
export * from "./downloader_key.ts";
export * from "./tracker_client.ts";
export * from "./tracker_pool.ts";
export * from "./ranking.ts";
export * from "./chunk_scheduler.ts";
export * from "./connection_pool.ts";
export * from "./rate_limiter.ts";
export * from "./whole_hasher.ts";
export * from "./download.ts";
export * from "./peer_node.ts";
export * from "./part_state.ts";
export * from "./part_claim.ts";
export * from "./download_folder.ts";
export * from "./download_lock.ts";
export * from "./swarm_files.ts";
export * from "./swarm_seat.ts";
export * from "./fetch_file.ts";
export * from "./get_files.ts";
export * from "./details_check.ts";
export * from "./upload_slots.ts";
export * from "./source_fetcher.ts";
export * from "./source_pool.ts";
export * from "./clock.ts";
export * from "./part_file.ts";
export * from "./ticket_renewal.ts";
export * from "./share_reader.ts";
export * from "./have_replies.ts";
