/**
 * The p2pfs wire protocol: length-prefixed frames, JSON control messages and their schemas, and a
 * channel that carries both. See `docs/protocol.md` for the byte layout and message list.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./byte_budget.ts";
export * from "./frame.ts";
export * from "./schema.ts";
export * from "./host.ts";
export * from "./messages.ts";
export * from "./manifest.ts";
export * from "./channel.ts";
export * from "./address_group.ts";
export * from "./fair_slots.ts";
export * from "./group_cap.ts";
export * from "./listener.ts";
export * from "./transport.ts";
export * from "./limits.ts";
export * from "./defaults.ts";
export * from "./open_files.ts";
export * from "./handshake.ts";
export * from "./ticket.ts";
export * from "./have_map.ts";
export * from "./serve_loop.ts";
