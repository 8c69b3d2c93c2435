/**
 * The tracker's web dashboard and read-only HTTP API: pages rendered on the server and kept live
 * with server-sent events, JSON under `/api/`, Prometheus `/metrics` and `/healthz`. It reads the
 * tracker's store and an {@link EventLog} fed by the tracker's events, and never writes.
 *
 * @example
 * ```ts ignore
 * const events = new EventLog();
 * const tracker = await startTracker({ onEvent: (e) => events.record(e) });
 * const dashboard = startDashboard(
 *   { store: tracker.store, heartbeatMs: tracker.heartbeatMs, events },
 *   { port: 7080 },
 * );
 * ```
 *
 * @module
 */
export * from "./event_log.ts";
export * from "./shared_events.ts";
export * from "./views.ts";
export * from "./counts.ts";
export * from "./downloads.ts";
export * from "./rate_meter.ts";
export * from "./change_feed.ts";
export * from "./html.ts";
export * from "./format.ts";
export * from "./chart.ts";
export * from "./chunk_map.ts";
export * from "./layout.ts";
export * from "./components.ts";
export * from "./table.ts";
export * from "./tables.ts";
export * from "./metrics.ts";
export * from "./pages.ts";
export * from "./assets.ts";
export * from "./handler.ts";
export * from "./dashboard_server.ts";
export * from "./access.ts";
