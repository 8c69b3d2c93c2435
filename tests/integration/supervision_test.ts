/**
 * Supervised tracker workers, end to end: a real `--workers 2` tracker, one worker killed with
 * SIGKILL. Every worker serves the dashboard port, so it keeps answering, and the parent starts
 * the dead worker again.
 *
 * @module
 */
import assert from "node:assert/strict";
import { pollUntil, startTracker, TIMEOUT_MS } from "./_harness.ts";

interface Health {
  status: string;
  pid: number;
  worker?: number;
}

/** No kept-alive connections: each request is a new connection, which the kernel may give to any worker. */
const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });

async function health(url: string): Promise<Health> {
  const response = await fetch(new URL("healthz", url), {
    client,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  assert.equal(response.status, 200);
  return await response.json() as Health;
}

Deno.test("a worker killed with SIGKILL leaves the dashboard answering and is restarted", async () => {
  await using tracker = await startTracker({ args: ["--workers", "2"] });
  const pids = await tracker.process.waitForLine(/^workers: 1 pid (\d+), 2 pid (\d+) /);
  const first = Number(pids[1]);
  const second = Number(pids[2]);
  // /healthz says which worker answered: each serves the dashboard port.
  const seen = new Map<number, number>();
  await pollUntil("/healthz answered by both workers", async () => {
    const answer = await health(tracker.dashboardUrl);
    seen.set(answer.worker!, answer.pid);
    return seen.size === 2 ? true : undefined;
  }, { intervalMs: 20 });
  assert.deepEqual([seen.get(1), seen.get(2)], [first, second]);

  Deno.kill(first, "SIGKILL");
  // Once the parent has seen worker 1 exit, its listening sockets are closed (a connection the
  // kernel had queued on them just before is reset, as for any crashed server), and every new
  // connection reaches a live worker: the dashboard answers without a retry.
  const exited = new RegExp(`worker 1 \\(pid ${first}\\) exited on SIGKILL`);
  await pollUntil(
    "the parent to see worker 1 exit",
    () => Promise.resolve(exited.test(tracker.process.stderr) || undefined),
    { intervalMs: 20 },
  );
  const during = await health(tracker.dashboardUrl);
  assert.notEqual(during.pid, first);
  assert.equal(during.status, "ok");
  const page = await fetch(tracker.dashboardUrl, {
    client,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/i);

  // The parent says so, and worker 1 is back under a new pid, serving the dashboard again.
  const back = await pollUntil("worker 1 back on /healthz", async () => {
    const answer = await health(tracker.dashboardUrl);
    return answer.worker === 1 && answer.pid !== first ? answer : undefined;
  }, { timeoutMs: 20_000, intervalMs: 20 });
  assert.notEqual(back.pid, first);
  assert.match(
    tracker.process.stderr,
    new RegExp(`worker 1 \\(pid ${first}\\) exited on SIGKILL; restarting it in \\d+ ms`),
  );
  await pollUntil(
    "the restart log line",
    () =>
      Promise.resolve(
        tracker.process.stderr.includes(`worker 1 restarted (pid ${back.pid})`) || undefined,
      ),
  );
  const status = await tracker.stop();
  assert.equal(status.code, 0);
});

Deno.test("SIGINT to the parent stops every worker and restarts none", async () => {
  await using tracker = await startTracker({ args: ["--workers", "2"] });
  const pids = await tracker.process.waitForLine(/^workers: 1 pid (\d+), 2 pid (\d+) /);
  const status = await tracker.process.stop("SIGINT");
  assert.equal(status.code, 0);
  assert.doesNotMatch(tracker.process.stderr, /restarting it/);
  for (const pid of [Number(pids[1]), Number(pids[2])]) {
    // Each worker is gone: Deno.kill has no signal 0; SIGCONT harms nothing and fails once it is.
    await pollUntil(`worker pid ${pid} to exit`, () => {
      try {
        Deno.kill(pid, "SIGCONT");
        return Promise.resolve(undefined);
      } catch {
        return Promise.resolve(true);
      }
    });
  }
});
