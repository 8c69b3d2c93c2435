/**
 * Transfer reports: `details` grants the downloader one report per source it handed out
 * ({@link ReportGrants}, kept in the store so the report may reach another tracker); a `report`
 * uses its grant and counts the outcome, once per (downloader, source, version) a day.
 *
 * @module
 */
import type { TrackerRequest } from "../protocol/mod.ts";
import type { FileIndex } from "./file_index.ts";
import { ReportGrants } from "./report_grants.ts";
import type { CountStore } from "./count_store.ts";
import { type Reply, TrackerError } from "./tracker_error.ts";

/**
 * Grants and counts of transfer outcomes.
 *
 * @example
 * ```ts ignore
 * reports.grant("bob", id, ["ann"]);
 * await reports.report("bob", request);
 * ```
 */
export class Reports {
  /** Grants, flushed to the store by the server (see {@link ReportGrants.flush}). */
  readonly grants: ReportGrants;
  readonly #store: CountStore;
  readonly #files: FileIndex;
  readonly #now: () => number;

  /** Reports on `store`, checked against `files`. */
  constructor(store: CountStore, files: FileIndex, now: () => number) {
    this.#store = store;
    this.#files = files;
    this.#now = now;
    this.grants = new ReportGrants(now, store);
  }

  /** Lets `downloader` report once on each of `sources` (but itself) for version `id`. */
  grant(downloader: string, id: string, sources: string[]): void {
    this.grants.grant(downloader, id, sources.filter((u) => u !== downloader));
  }

  /** Counts one report of `user`'s. */
  async report(user: string, request: Extract<TrackerRequest, { type: "report" }>): Promise<Reply> {
    if (request.source === user) {
      throw new TrackerError("FORBIDDEN", "Cannot accept report: a peer cannot report on itself");
    }
    const holder = await this.#files.holder(request.name, request.id, request.source) ??
      await this.#files.partialHolder(request.name, request.id, request.source);
    if (!holder || holder.sha256 !== request.sha256) {
      throw new TrackerError(
        "NOT_FOUND",
        `Cannot accept report: ${request.source} does not share that version of ${request.name}`,
      );
    }
    if (request.bytes > holder.size) {
      throw new TrackerError(
        "INVALID",
        `Cannot accept report: ${request.bytes} bytes is more than the file's ${holder.size}`,
      );
    }
    // A download counts in proportion to the share of the file the source delivered, and only
    // against a grant from a recent `details`; one outcome per (downloader, source, version)
    // per day counts, so repeating a report moves nothing.
    const share = holder.size === 0 ? 1 : request.bytes / holder.size;
    if (!(await this.grants.use(user, request.id, request.source))) {
      throw new TrackerError(
        "FORBIDDEN",
        `Cannot accept report: ${request.source} was not handed to you for ${request.name} in a recent details, or was reported already`,
      );
    }
    const counted = await this.#store.countOutcome(
      {
        downloader: user,
        source: request.source,
        id: request.id,
        kind: request.ok ? "downloads" : "failures",
      },
      request.ok ? share : 1,
      this.#now(),
    );
    if (counted) await this.#files.applyLocal({ counts: [[request.source, request.id]] });
    // Not counted: a transfer of this version from that source counted for this downloader in
    // the last day. Not an error: downloading a file twice is no mistake.
    return counted ? { type: "ok" } : { type: "ok", counted: false };
  }
}
