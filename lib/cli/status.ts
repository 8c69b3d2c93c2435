/**
 * `peer status`: who I am, the tracker, and what the tracker knows of me.
 *
 * A one-shot command cannot see another process's uploads, so the "me" part comes from the
 * tracker's `whoami`: my announced address and online state, my sessions, the file versions I
 * share and their bytes, and my download and failure counts.
 *
 * @module
 */
import { formatAddress, PeerError, type TrackerClient } from "../peer/mod.ts";
import { paint } from "./colour.ts";
import { formatBytes, formatCount } from "./format.ts";
import { describeScope, type SandboxScope } from "./sandbox.ts";
import { visible } from "./visible.ts";

/** What `status --json` prints. */
export interface StatusReport {
  /** Who I am. */
  user: string;
  /** The tracker. */
  tracker: {
    /** `HOST:PORT`. */
    address: string;
    /** Whether it answered and accepted the login. */
    reachable: boolean;
    /** Whether we talk TLS to it. */
    tls: boolean;
    /** Why it could not be reached, when it could not. */
    error?: string;
  };
  /** My live sessions (this command's included), or null when unknown. */
  sessions: number | null;
  /** My peer as the tracker knows it, or null if I never announced. */
  peer: { address: string; online: boolean; tls: boolean } | null;
  /** File versions I hold and their bytes, or null when unknown (too many files to check). */
  shared: { files: number; bytes: number } | null;
  /** Downloads other peers made from me (fractions: shared downloads), or null if unknown. */
  downloads: number | null;
  /** Failed transfers from me, or null if unknown. */
  failures: number | null;
  /** What a `get` would be allowed to touch, or null without a sandbox. */
  getSandbox: SandboxScope | null;
}

/** Inputs of {@link gatherStatus}. */
export interface StatusOptions {
  /** Who I am. */
  user: string;
  /** The tracker's `HOST:PORT`. */
  address: string;
  /** Whether we talk TLS to the tracker. */
  tls: boolean;
  /** The scope `get` would run in, or null. */
  getSandbox: SandboxScope | null;
  /** Opens a tracker connection and logs in (the token goes to the caller's logout). */
  connect: () => Promise<{ client: TrackerClient; token: string }>;
}

/**
 * Asks the tracker what it knows of me; a tracker that cannot be reached gives a report with
 * `reachable: false` rather than an error (a wrong password still throws).
 */
export async function gatherStatus(options: StatusOptions): Promise<StatusReport> {
  const report: StatusReport = {
    user: options.user,
    tracker: { address: options.address, reachable: false, tls: options.tls },
    sessions: null,
    peer: null,
    shared: null,
    downloads: null,
    failures: null,
    getSandbox: options.getSandbox,
  };
  let login: { client: TrackerClient; token: string };
  try {
    login = await options.connect();
  } catch (error) {
    if (error instanceof PeerError && error.code === "TRACKER_UNREACHABLE") {
      report.tracker.error = error.message;
      return report;
    }
    throw error;
  }
  const { client, token } = login;
  report.tracker.reachable = true;
  const me = await client.whoami(token);
  report.sessions = me.sessions;
  report.peer = me.peer
    ? {
      address: formatAddress(me.peer.host, me.peer.port),
      online: me.peer.online,
      tls: me.peer.tls ?? false,
    }
    : null;
  report.shared = { files: me.files, bytes: me.bytes };
  report.downloads = me.downloads;
  report.failures = me.failures;
  return report;
}

/**
 * The human form of a status report, one `label: value` line each.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatStatus } from "./status.ts";
 * const text = formatStatus({
 *   user: "ann",
 *   tracker: { address: "127.0.0.1:7070", reachable: true, tls: false },
 *   sessions: 2, peer: null, shared: { files: 0, bytes: 0 }, downloads: null, failures: null,
 *   getSandbox: null,
 * }, false);
 * assert.match(text, /^tracker:\s+127\.0\.0\.1:7070 \(reachable, plain TCP\)$/m);
 * ```
 */
export function formatStatus(report: StatusReport, colour: boolean): string {
  const yesNo = (ok: boolean, yes: string, no: string) =>
    ok ? paint("green", yes, colour) : paint("red", no, colour);
  const unknown = "unknown";
  const tracker = report.tracker.reachable
    ? `${visible(report.tracker.address)} (${yesNo(true, "reachable", "")}, ${
      report.tracker.tls ? "TLS" : "plain TCP"
    })`
    : `${visible(report.tracker.address)} (${yesNo(false, "", "unreachable")}${
      report.tracker.error ? `: ${visible(report.tracker.error)}` : ""
    })`;
  const lines = [
    ["user", report.user],
    ["tracker", tracker],
  ];
  if (report.tracker.reachable) {
    lines.push(
      ["sessions", report.sessions === null ? unknown : `${report.sessions} (this one included)`],
      [
        "peer",
        report.peer
          ? `${visible(report.peer.address)}${report.peer.tls ? " (TLS)" : ""}, ${
            yesNo(report.peer.online, "online", "offline")
          }`
          : "never announced (run 'serve' or 'shell' to share a folder)",
      ],
      [
        "sharing",
        report.shared
          ? `${report.shared.files} file${report.shared.files === 1 ? "" : "s"}, ${
            formatBytes(report.shared.bytes)
          }`
          : unknown,
      ],
      [
        "served",
        report.downloads === null
          ? unknown
          : `${formatCount(report.downloads)} downloads, ${
            formatCount(report.failures ?? 0)
          } failures`,
      ],
    );
  }
  lines.push([
    "get sandbox",
    report.getSandbox
      ? describeScope(report.getSandbox).replace(/^sandbox: /, "")
      : "none (--no-sandbox)",
  ]);
  const width = Math.max(...lines.map(([label]) => label!.length)) + 2;
  return lines.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`).join("\n");
}
