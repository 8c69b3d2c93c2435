/**
 * The fetch-a-file use case: ask the tracker for a file's `details`, download it from its holders
 * (complete and partial), report each source's outcome, and, when a {@link SwarmSeat} is given,
 * serve the verified chunks meanwhile as a partial holder (and the finished file afterwards, when
 * asked to seed). The command line and the shell call this and only print.
 *
 * @module
 */
import type { FileDetails } from "../protocol/mod.ts";
import { checkDetails } from "./details_check.ts";
import { downloadFile, type DownloadOptions, type DownloadResult } from "./download.ts";
import type { SwarmHost } from "./swarm_seat.ts";
import type { TrackerClient } from "./tracker_client.ts";

/** Options for {@link fetchFile}. */
export interface FetchOptions extends Omit<DownloadOptions, "swarm" | "discover" | "renewTicket"> {
  /** Which version: a prefix of its id or SHA-256 (default: the one `details` picks). */
  version?: string;
  /** Serve what this download has meanwhile (a partial holder). */
  seat?: SwarmHost;
  /** With a seat: keep serving the finished file until the seat closes. */
  seed?: boolean;
  /** Called with `details` before the download starts. */
  onDetails?: (details: FileDetails) => void;
  /** Called when a source's outcome could not be reported to the tracker. */
  onReportError?: (source: string, error: unknown) => void;
}

/**
 * Fetches one file: details, download (as a partial holder when a seat is given), reports.
 *
 * @example
 * ```ts ignore
 * const result = await fetchFile(client, token, "a.bin", { outDir: "./downloads", self: "ann" });
 * ```
 */
export async function fetchFile(
  client: TrackerClient,
  token: string,
  name: string,
  options: FetchOptions,
): Promise<DownloadResult> {
  const details = await client.details(
    token,
    name,
    options.version ? { version: options.version } : {},
  );
  // Before anything is shown, served or written: the reply is for this name and adds up.
  checkDetails(details, name);
  options.onDetails?.(details);
  const seat = options.seat;
  // A one-chunk file has nothing to share before it is done: it is listed only to seed.
  const reporter = details.chunkHashes.length > 1 || options.seed
    ? seat?.progress(client, token, details)
    : undefined;
  try {
    const result = await downloadFile(details, {
      ...options,
      ...(seat ? { swarm: seat.swarm } : {}),
      renewTicket: async () => (await client.details(token, name, { version: details.id })).ticket,
      discover: async () => (await client.details(token, name, { version: details.id })).peers,
      onProgress: (p) => {
        if (p.phase === "fetch") {
          reporter?.update(
            p.doneBytes / Math.max(1, p.totalBytes),
            seat?.swarm.get(name)?.have,
            p.stalledChunks !== undefined,
            p.sources,
          );
        }
        options.onProgress?.(p);
      },
      onReport: async (report) => {
        try {
          await client.report(token, {
            name: details.name,
            sha256: details.sha256,
            id: details.id,
            source: report.source,
            ok: report.ok,
            bytes: report.bytes,
            ...(report.reason ? { reason: report.reason } : {}),
          });
        } catch (error) {
          options.onReportError?.(report.source, error);
        }
        await options.onReport?.(report);
      },
    });
    if (seat?.serveFinished && reporter && options.seed) {
      seat.serveFinished({ ...details, chunks: details.chunkHashes.length }, result.path);
      reporter.update(1);
    } else {
      void reporter?.withdraw(); // off the critical path: the seat waits for it when it closes
    }
    return result;
  } catch (error) {
    void reporter?.withdraw();
    throw error;
  }
}
