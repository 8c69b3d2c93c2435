/**
 * `/metrics` in the Prometheus text exposition format (version 0.0.4).
 *
 * @module
 */
import { type Counters, LATENCY_BUCKETS_S } from "./event_log.ts";
import type { Stats } from "./views.ts";

/** The content type of {@link renderMetrics}'s output. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Escapes a label value: backslash, double quote and line feed. */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * Renders the tracker's gauges (from `stats`) and counters (from the event log).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventLog, readStats, renderMetrics } from "./mod.ts";
 * import { KvTrackerStore } from "../tracker/mod.ts";
 * await using store = await KvTrackerStore.open(":memory:");
 * const events = new EventLog();
 * const text = renderMetrics(await readStats({ store, heartbeatMs: 1000, events }), events.counters());
 * assert.match(text, /^p2pfs_peers_online 0$/m);
 * ```
 */
export function renderMetrics(stats: Stats, counters: Readonly<Counters>): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string) =>
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const gauge = (name: string, help: string, value: number) => {
    family(name, "gauge", help);
    out.push(`${name} ${value}`);
  };
  gauge("p2pfs_peers_online", "Peers online now, and users downloading now.", stats.peersOnline);
  gauge("p2pfs_peers", "Peers that ever announced, and users downloading now.", stats.peersTotal);
  gauge("p2pfs_downloads_in_progress", "Downloads in progress now.", stats.downloading);
  gauge("p2pfs_downloads_stalled", "Downloads in progress marked stalled.", stats.stalled);
  gauge("p2pfs_files", "File versions announced.", stats.files);
  gauge("p2pfs_files_online", "File versions with at least one online source.", stats.filesOnline);
  gauge(
    "p2pfs_bytes_shared",
    "Bytes of the file versions with an online source, each counted once.",
    stats.bytesShared,
  );
  gauge(
    "p2pfs_start_time_seconds",
    "When the tracker started, seconds since the epoch.",
    stats.startedAt / 1000,
  );

  family("p2pfs_requests_total", "counter", "Requests answered, by type and outcome.");
  for (const [type, outcomes] of [...counters.requests].sort(byKey)) {
    for (const [outcome, n] of [...outcomes].sort(byKey)) {
      out.push(`p2pfs_requests_total{type="${label(type)}",outcome="${label(outcome)}"} ${n}`);
    }
  }

  family("p2pfs_request_duration_seconds", "histogram", "Time to handle a request, by type.");
  for (const [type, h] of [...counters.latency].sort(byKey)) {
    let cumulative = 0;
    LATENCY_BUCKETS_S.forEach((bound, i) => {
      cumulative += h.buckets[i] ?? 0;
      out.push(
        `p2pfs_request_duration_seconds_bucket{type="${label(type)}",le="${bound}"} ${cumulative}`,
      );
    });
    out.push(`p2pfs_request_duration_seconds_bucket{type="${label(type)}",le="+Inf"} ${h.count}`);
    out.push(`p2pfs_request_duration_seconds_sum{type="${label(type)}"} ${h.sum}`);
    out.push(`p2pfs_request_duration_seconds_count{type="${label(type)}"} ${h.count}`);
  }

  family(
    "p2pfs_cluster_requests_total",
    "counter",
    "Requests answered by each tracker sharing the store (summed over trackers: the cluster).",
  );
  for (const t of stats.trackers) {
    out.push(`p2pfs_cluster_requests_total{tracker="${label(t.id)}"} ${t.requests}`);
  }

  family("p2pfs_logins_failed_total", "counter", "Login requests refused.");
  out.push(`p2pfs_logins_failed_total ${counters.loginsFailed}`);

  family("p2pfs_transfers_total", "counter", "Transfers reported by downloaders, by outcome.");
  out.push(`p2pfs_transfers_total{outcome="ok"} ${counters.transfersOk}`);
  let failed = 0;
  for (const n of counters.transfersFailed.values()) failed += n;
  out.push(`p2pfs_transfers_total{outcome="failed"} ${failed}`);

  family("p2pfs_transfer_failures_total", "counter", "Failed transfers reported, by reason.");
  for (const [reason, n] of [...counters.transfersFailed].sort(byKey)) {
    out.push(`p2pfs_transfer_failures_total{reason="${label(reason)}"} ${n}`);
  }

  family(
    "p2pfs_bytes_reported_transferred_total",
    "counter",
    "Bytes downloaders reported receiving from sources.",
  );
  out.push(`p2pfs_bytes_reported_transferred_total ${counters.bytesReported}`);
  return out.join("\n") + "\n";
}

function byKey<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
