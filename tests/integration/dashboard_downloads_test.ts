/**
 * The dashboard's downloads in progress name their sources (source → downloader) from the
 * downloader's own `progress` reports, before any transfer is reported. Real processes on loopback.
 */
import assert from "node:assert/strict";
import {
  makeTempDir,
  PASSWORD,
  pollUntil,
  randomBytes,
  registerUsers,
  Spawned,
  startPeer,
  startTracker,
  writeFile,
} from "./_harness.ts";

interface DownloadJson {
  user: string;
  name: string;
  progress: number;
  sources: string[];
}

Deno.test("a download in progress is listed with the source it fetches from, told by its progress reports", async () => {
  await using tracker = await startTracker();
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  await registerUsers(tracker.address, ["teacher", "pupil"]);
  await writeFile(share.path, "slides.bin", randomBytes(6 * 1024 * 1024));
  // Capped so the download lasts long enough to be seen in progress.
  await using _teacher = await startPeer("teacher", share.path, tracker.address, {
    args: ["--max-upload", "1MB/s"],
  });
  await using get = new Spawned("get as pupil", [
    "peer.ts",
    "get",
    "slides.bin",
    "--out",
    out.path,
    "--quiet",
    "--tracker",
    tracker.address,
    "--user",
    "pupil",
  ], { P2PFS_PASSWORD: PASSWORD });

  const row = await pollUntil("pupil's download with its source", async () => {
    const response = await fetch(new URL("/api/downloads", tracker.dashboardUrl));
    const downloads = await response.json() as DownloadJson[];
    return downloads.find((d) =>
      d.user === "pupil" && d.progress < 1 && d.sources.includes("teacher")
    );
  });
  assert.equal(row.name, "slides.bin");
  const status = await get.wait(60_000);
  assert.equal(status.code, 0, get.stderr);
});
