/**
 * Swarm faults end to end, with real tracker and peer processes on loopback: downloaders that
 * fetch a file again while the seed's super-seeding remembers their first round; a seed that dies
 * and comes back on another port mid-download; fake partial holders (in this process, see
 * `_fake_peer.ts`) that park every source slot with empty have-maps or claim every chunk and then
 * refuse or corrupt it; and a download whose only complete holder goes away, which must stop after
 * `--stall-timeout` keeping what it verified, and resume later. Transfers are made slow with
 * `--max-upload` on the seed, never by waiting; every wait is bounded by minutes, not seconds.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type FakeHave, FakePeer, type FakeRead } from "./_fake_peer.ts";
import {
  type DetailsJson,
  type GetJson,
  getResult,
  makeTempDir,
  MiB,
  PASSWORD,
  pathExists,
  pollUntil,
  randomBytes,
  registerAccounts,
  ROOT,
  runAs,
  runJson,
  sha256Hex,
  Spawned,
  startSwarm,
  type Swarm,
  type TempDir,
  verifiedChunks,
  withTimeout,
} from "./_harness.ts";

/** The file every test shares. */
const NAME = "big.bin";

/** Longest a `get` may take here: minutes, far above what any of them needs. */
const GET_TIMEOUT_MS = 120_000;

/** Longest the tests wait for a running `get` to verify its first chunks. */
const FIRST_CHUNKS_TIMEOUT_MS = 60_000;

/** The exit code of a `get` that stalled for `--stall-timeout` (usage mistakes are 2). */
const STALLED_EXIT_CODE = 3;

/** The `.part` a `get` of {@link NAME} into `outDir` writes. */
function partOf(outDir: string): string {
  return join(outDir, `${NAME}.part`);
}

/**
 * Waits until the `get` into `outDir` has verified more than `moreThan` chunks, and resolves to
 * the count; fails at once (with its stderr) if the get exits first.
 */
async function waitForChunks(
  get: { label: string; status: Deno.CommandStatus | undefined; stderr: string },
  outDir: string,
  moreThan: number,
): Promise<number> {
  const signal = AbortSignal.timeout(FIRST_CHUNKS_TIMEOUT_MS);
  while (!signal.aborted) {
    const count = await verifiedChunks(partOf(outDir));
    if (count !== undefined && count > moreThan) return count;
    if (get.status) {
      throw new Error(
        `${get.label} exited (code ${get.status.code}) before verifying ${moreThan + 1} chunks\n` +
          `stderr:\n${get.stderr}`,
      );
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(
    `${get.label} verified at most ${moreThan} chunks in ${FIRST_CHUNKS_TIMEOUT_MS} ms\n` +
      `stderr:\n${get.stderr}`,
  );
}

/** A tracker, a seed `s0` of `bytes` uploading at most `rate`, `users` and `watch` registered. */
async function swarmOf(bytes: Uint8Array, rate: string, users: string[]): Promise<Swarm> {
  return await startSwarm({
    bytes,
    name: NAME,
    users: ["watch", ...users],
    seedArgs: ["--max-upload", rate],
  });
}

/** A `get NAME --json --quiet` into `outDir` running in the background as `user`. */
function spawnGet(swarm: Swarm, user: string, outDir: string, extra: string[] = []): Spawned {
  return swarm.get(user, outDir, ["--json", "--quiet", ...extra]);
}

/**
 * Waits (bounded) for a background `get --json` into `outDir` to exit 0, checks the file it saved
 * holds the swarm's bytes, and resolves to its JSON; a get still running at the deadline is killed
 * and reported with how many chunks it had verified.
 */
async function expectDownloaded(swarm: Swarm, get: Spawned, outDir: string): Promise<GetJson> {
  const original = swarm.bytes;
  let result: GetJson;
  try {
    result = await getResult(get, GET_TIMEOUT_MS);
  } catch (error) {
    const chunks = await verifiedChunks(partOf(outDir));
    throw new Error(
      `${get.label} did not finish within ${GET_TIMEOUT_MS} ms: ${chunks ?? "no"} of ${
        Math.ceil(original.length / MiB)
      } chunks verified\nstderr:\n${get.stderr}`,
      { cause: error },
    );
  }
  await swarm.verify(outDir);
  assert.equal(result.sha256, sha256Hex(original));
  assert.equal(result.fetchedBytes + result.reusedBytes, original.length);
  return result;
}

/**
 * Runs one `get` per user at once, each into its folder of `outDirs`, and checks that every one
 * finishes with `original`; fails naming `what` (`round 2`) and every get that did not.
 */
async function fetchTogether(
  what: string,
  swarm: Swarm,
  users: string[],
  outDirs: string[],
): Promise<GetJson[]> {
  const gets = users.map((user, i) => spawnGet(swarm, user, outDirs[i]!));
  try {
    const outcomes = await Promise.allSettled(
      gets.map((get, i) => expectDownloaded(swarm, get, outDirs[i]!)),
    );
    const failed = outcomes.flatMap((o) =>
      o.status === "rejected"
        ? [o.reason instanceof Error ? o.reason.message : String(o.reason)]
        : []
    );
    assert.equal(failed.length, 0, `${what}:\n${failed.join("\n\n")}`);
    return outcomes.map((o) => (o as PromiseFulfilledResult<GetJson>).value);
  } finally {
    for (const get of gets) await get[Symbol.asyncDispose]();
  }
}

/** `count` temporary folders, removed on dispose. */
async function tempDirs(count: number): Promise<{ paths: string[] } & AsyncDisposable> {
  const dirs: TempDir[] = [];
  for (let i = 0; i < count; i++) dirs.push(await makeTempDir());
  return {
    paths: dirs.map((d) => d.path),
    async [Symbol.asyncDispose]() {
      for (const dir of dirs) await dir[Symbol.asyncDispose]();
    },
  };
}

/** Fake peers (see `_fake_peer.ts`), each registered and logged in; disposed together. */
async function startFakes(
  trackerAddress: string,
  fakes: Array<{ user: string; have: FakeHave; read: FakeRead }>,
): Promise<{ peers: FakePeer[] } & AsyncDisposable> {
  await registerAccounts(trackerAddress, fakes.map((f) => f.user));
  const peers: FakePeer[] = [];
  const dispose = async () => {
    for (const peer of peers) await peer[Symbol.asyncDispose]();
  };
  try {
    for (const fake of fakes) peers.push(await FakePeer.start({ ...fake, trackerAddress }));
    return { peers, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** `details NAME --json` as `watch`, once every user in `users` is listed online. */
async function detailsListing(trackerAddress: string, users: string[]): Promise<DetailsJson> {
  return await pollUntil(`the tracker to list ${users.join(", ")} online`, async () => {
    const details = await runJson<DetailsJson>("watch", trackerAddress, ["details", NAME]);
    const online = (user: string) => details.peers.some((p) => p.user === user && p.online);
    return users.every(online) ? details : undefined;
  }, { timeoutMs: 30_000 });
}

/** The holder `user` in a `details --json` output. */
function holder(details: DetailsJson, user: string): DetailsJson["peers"][number] {
  const found = details.peers.find((p) => p.user === user);
  assert.ok(found, `${user} is not listed: ${JSON.stringify(details.peers)}`);
  return found;
}

Deno.test("swarm faults: four downloaders fetching a file a second and a third time, at once, all finish with the right bytes", async () => {
  const original = randomBytes(32 * MiB);
  const users = ["r1", "r2", "r3", "r4"];
  await using swarm = await swarmOf(original, "12MB/s", users);
  await using rounds = await tempDirs(3 * users.length);
  // Each round fetches into new folders, so every get starts from nothing while the seed's
  // super-seeding remembers what it sent in the rounds before.
  for (let round = 0; round < 3; round++) {
    const outDirs = rounds.paths.slice(round * users.length, (round + 1) * users.length);
    await fetchTogether(`round ${round + 1}`, swarm, users, outDirs);
  }
});

Deno.test("swarm faults: a seed killed mid-download and started again on a new port is found again and the download finishes", async () => {
  const original = randomBytes(32 * MiB);
  await using swarm = await swarmOf(original, "4MB/s", ["dl"]);
  await using out = await makeTempDir();
  await using get = spawnGet(swarm, "dl", out.path);
  const before = await waitForChunks(get, out.path, 1);
  await swarm.seeds[0]!.kill9();
  const kept = (await verifiedChunks(partOf(out.path)))!;
  assert.ok(kept < 32, `the download had finished (${kept} chunks) before the seed was killed`);
  assert.ok(kept >= before, `${kept} chunks recorded after ${before}`);
  // Same account and share, a new port; faster, so the rest does not take long.
  const restarted = await swarm.restartSeed(0, ["--max-upload", "32MB/s"]);
  const details = await detailsListing(swarm.tracker.address, ["s0"]);
  assert.equal(holder(details, "s0").address, restarted.address);
  const result = await expectDownloaded(swarm, get, out.path);
  // Nobody but the seed holds the file, so the restarted seed delivered the rest.
  assert.ok((result.perSource.s0 ?? 0) > 0, JSON.stringify(result.perSource));
});

Deno.test("swarm faults: four parked fake partial holders with inflated records do not keep a get from finishing", async () => {
  const original = randomBytes(16 * MiB);
  await using swarm = await swarmOf(original, "8MB/s", ["dl"]);
  const address = swarm.tracker.address;
  const names = ["park1", "park2", "park3", "park4"];
  await using fakes = await startFakes(
    address,
    names.map((user) => ({ user, have: "none" as const, read: "not_found" as const })),
  );
  // Records inflated where the tracker lets them be: each fake announces made-up versions and
  // the other fakes report whole downloads of them (the tracker may bound or refuse this).
  for (const owner of fakes.peers) {
    const junk = await owner.announceJunk(3);
    for (const other of fakes.peers) {
      if (other !== owner) await other.reportDownloads(owner.user, junk);
    }
  }
  for (const fake of fakes.peers) await fake.claim(NAME, 0.75);
  const listed = await detailsListing(address, names);
  for (const user of names) {
    assert.equal(holder(listed, user).complete, false, `${user} is not listed as partial`);
  }

  await using out = await makeTempDir();
  await using get = spawnGet(swarm, "dl", out.path, ["--sources", "4"]);
  const result = await expectDownloaded(swarm, get, out.path);
  const asked = fakes.peers.reduce((sum, f) => sum + f.counts.haves, 0);
  assert.ok(asked > 0, "no fake was ever used as a source: the test staged nothing");
  for (const user of names) assert.equal(result.perSource[user] ?? 0, 0, user);
  assert.equal(result.perSource.s0, original.length, JSON.stringify(result.perSource));
});

Deno.test("swarm faults: partial holders that claim every chunk, then refuse it or send wrong bytes, are blamed and the get finishes", async () => {
  const original = randomBytes(24 * MiB);
  await using swarm = await swarmOf(original, "6MB/s", ["dl"]);
  const address = swarm.tracker.address;
  await using fakes = await startFakes(address, [
    { user: "refuser", have: "all", read: "not_found" },
    { user: "corrupter", have: "all", read: "corrupt" },
  ]);
  for (const fake of fakes.peers) await fake.claim(NAME, 0.9);
  await detailsListing(address, ["s0", "refuser", "corrupter"]);

  await using out = await makeTempDir();
  await using get = spawnGet(swarm, "dl", out.path);
  const result = await expectDownloaded(swarm, get, out.path);
  assert.equal(result.perSource.refuser ?? 0, 0);
  assert.equal(result.perSource.corrupter ?? 0, 0);
  assert.equal(result.perSource.s0, original.length, JSON.stringify(result.perSource));
  // The liars are still listed (they keep claiming), with the failures the get reported.
  const details = await runJson<DetailsJson>("watch", address, ["details", NAME]);
  const unblamed = fakes.peers.filter((f) => holder(details, f.user).failures < 1).map((f) =>
    `${f.user} (asked ${JSON.stringify(f.counts)}): ${JSON.stringify(holder(details, f.user))}`
  );
  assert.deepEqual(unblamed, [], `not blamed:\n${unblamed.join("\n")}`);
});

/** A command run on a pseudo-terminal (through `script`), its output collected. */
class TerminalRun implements AsyncDisposable {
  readonly label: string;
  #text = "";
  #status: Deno.CommandStatus | undefined;
  readonly #child: Deno.ChildProcess;
  readonly #drained: Promise<void>;

  /** Runs `deno run -A <args>` in the project root on a 200-column terminal. */
  constructor(label: string, args: string[], env: Record<string, string>) {
    this.label = label;
    const command = [Deno.execPath(), "run", "-A", ...args]
      .map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    this.#child = new Deno.Command("script", {
      args: ["-qefc", `stty cols 200 rows 40; exec ${command}`, "/dev/null"],
      cwd: ROOT,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const child = this.#child;
    const read = async (stream: ReadableStream<Uint8Array>) => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) this.#text += text;
    };
    child.status.then((status) => this.#status = status);
    this.#drained = Promise.all([read(child.stdout), read(child.stderr), child.status])
      .then(() => {});
  }

  /** Everything the terminal showed so far. */
  get text(): string {
    return this.#text;
  }

  /** Its exit status, once it exited. */
  get status(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  /** For messages: what it showed. */
  get stderr(): string {
    return this.#text;
  }

  /** Waits for the exit; kills it and fails if it has not exited within `timeoutMs`. */
  async wait(timeoutMs: number): Promise<Deno.CommandStatus> {
    try {
      await withTimeout(this.#drained, timeoutMs, `${this.label} to exit`);
    } catch (error) {
      await this[Symbol.asyncDispose]();
      throw new Error(`${(error as Error).message}\nterminal:\n${this.#text}`, { cause: error });
    }
    return this.#status!;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#status) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // it exited meanwhile
      }
    }
    await withTimeout(this.#drained, 30_000, `${this.label}'s output to end`);
  }
}

Deno.test("swarm faults: a get whose only complete holder goes away stops after --stall-timeout, keeps its chunks and resumes later", async (t) => {
  const original = randomBytes(32 * MiB);
  await using swarm = await swarmOf(original, "4MB/s", ["dl"]);
  const address = swarm.tracker.address;
  await using out = await makeTempDir();
  const part = partOf(out.path);

  await t.step(
    "it says it stalled while it waits, then exits with code 3 and one error saying it kept its chunks",
    async () => {
      await using get = spawnGet(swarm, "dl", out.path, ["--stall-timeout", "3s"]);
      await waitForChunks(get, out.path, 1);
      await swarm.seeds[0]!.stop(); // logs out: the tracker lists nobody online with the file
      const status = await get.wait(GET_TIMEOUT_MS);
      assert.equal(status.code, STALLED_EXIT_CODE, `exit ${status.code}\n${get.stderr}`);
      const lines = get.stderr.split("\n");
      assert.ok(
        lines.some((line) =>
          /stalled: no online peer has \d+ remaining chunks; waiting/.test(line)
        ),
        `no line says it waits:\n${get.stderr}`,
      );
      const stalled = lines.filter((line) => /^error:.*stalled/i.test(line));
      assert.equal(stalled.length, 1, `errors about the stall:\n${get.stderr}`);
      assert.match(stalled[0]!, /verified chunks/i);
      assert.match(stalled[0]!, /\bkept\b/i);
      assert.ok(await pathExists(part), `${part} is gone`);
      assert.ok(await pathExists(`${part}.json`), `${part}.json is gone`);
      const kept = (await verifiedChunks(part))!;
      assert.ok(kept >= 2 && kept < 32, `${kept} chunks recorded`);
    },
  );

  await t.step(
    "on a terminal, the progress line says it stalled while it waits, and the same get finishes once the seed is back",
    async () => {
      await swarm.restartSeed(0, ["--max-upload", "4MB/s"]);
      // A folder of its own, so the .part the step before kept is left for the last step.
      await using fresh = await makeTempDir();
      await using run = new TerminalRun("get on a terminal", [
        "peer.ts",
        "get",
        NAME,
        "--out",
        fresh.path,
        "--stall-timeout",
        "10m",
        "--tracker",
        address,
        "--user",
        "dl",
      ], { P2PFS_PASSWORD: PASSWORD });
      await waitForChunks(run, fresh.path, 1);
      await swarm.seeds[0]!.stop();
      // Once it says it waits, the tracker shows the download as stalled (the dashboard reads the
      // same), for as long as it waits: here until the seed comes back.
      const waiting = /stalled: no online peer has \d+ remaining chunks; waiting/;
      const said = await pollUntil(
        "the terminal to say it waits",
        () => Promise.resolve(waiting.test(run.text) ? "waits" : run.status ? "exited" : undefined),
        { timeoutMs: GET_TIMEOUT_MS },
      );
      assert.equal(said, "waits", `it exited before it said it waits:\n${run.text}`);
      const holder = await pollUntil("dl listed as stalled", async () => {
        const details = await runJson<DetailsJson>("dl", address, ["details", NAME]);
        return details.peers.find((p) => p.user === "dl" && p.stalled);
      });
      assert.equal(holder.complete, false);
      // The seed comes back (on another port): the waiting get finds it and finishes.
      await swarm.restartSeed(0, []);
      const status = await run.wait(GET_TIMEOUT_MS);
      assert.equal(status.code, 0, `exit ${status.code}\n${run.text}`);
      await swarm.verify(fresh.path);
    },
  );

  await t.step(
    "with the seed back, the get stopped in the first step resumes and finishes",
    async () => {
      const kept = (await verifiedChunks(part)) ?? 0;
      const run = await runAs(
        "dl",
        address,
        ["get", NAME, "--out", out.path, "--json", "--quiet"],
        {
          timeoutMs: GET_TIMEOUT_MS,
        },
      );
      assert.equal(run.code, 0, run.stderr);
      const result = run.json<GetJson>();
      assert.ok(result.reusedBytes >= kept * MiB, `reused ${result.reusedBytes} of ${kept} chunks`);
      assert.equal(result.fetchedBytes + result.reusedBytes, original.length);
      await swarm.verify(out.path);
      assert.equal(await pathExists(part), false);
      assert.equal(await pathExists(`${part}.json`), false);
    },
  );
});
