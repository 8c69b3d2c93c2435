/**
 * The dashboard's downloads in progress name their sources (source → downloader) from the
 * downloader's own `progress` reports, before any transfer is reported. Real processes on loopback.
 */
import assert from "node:assert/strict";
import { getJson, makeTempDir, MiB, pollUntil, randomBytes, startSwarm } from "./_harness.ts";

interface DownloadJson {
  user: string;
  name: string;
  progress: number;
  sources: string[];
}

Deno.test("a download in progress is listed with the source it fetches from, told by its progress reports", async () => {
  await using out = await makeTempDir();
  // Capped so the download lasts long enough to be seen in progress.
  await using swarm = await startSwarm({
    bytes: randomBytes(6 * MiB),
    name: "slides.bin",
    seeds: ["teacher"],
    users: ["pupil"],
    seedArgs: ["--max-upload", "1MB/s"],
  });
  const { tracker } = swarm;
  await using get = swarm.get("pupil", out.path, ["--quiet"]);

  const row = await pollUntil("pupil's download with its source", async () => {
    const downloads = await getJson<DownloadJson[]>(
      new URL("/api/downloads", tracker.dashboardUrl),
    );
    return downloads.find((d) =>
      d.user === "pupil" && d.progress < 1 && d.sources.includes("teacher")
    );
  });
  assert.equal(row.name, "slides.bin");
  const status = await get.wait(60_000);
  assert.equal(status.code, 0, get.stderr);
});
