/**
 * Helpers for integration tests that run the real `tracker.ts` and `peer.ts` as child processes on
 * 127.0.0.1 with port 0, in temporary folders, with real files and a real Deno KV file.
 *
 * Every wait is bounded (a hang fails the test instead of blocking the suite), every child's
 * stdout and stderr are drained until the child exits (so a pipe never fills), and every handle is
 * `AsyncDisposable`: `await using` kills what is still running and removes what was created.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { parseAddress, TrackerClient } from "../../lib/peer/mod.ts";
import { manifestId, type VersionInfo } from "../../lib/protocol/mod.ts";

/** The project root: where `tracker.ts`, `peer.ts` and `deno.json` live. */
export const ROOT: string = resolve(import.meta.dirname!, "..", "..");

/**
 * Kept sessions (`p2pfs-peer login`) are read from the config folder: every command a test runs
 * looks in a folder that does not exist, never in the developer's own (a test that signs in gives
 * its own `XDG_CONFIG_HOME`).
 */
export const NO_CONFIG_HOME = "/dev/null/p2pfs-tests-config";
Deno.env.set("XDG_CONFIG_HOME", NO_CONFIG_HOME);

/** The password every test account uses (long enough for `register`). */
export const PASSWORD = "integration-password";

/** Longest any single helper waits for a child process. */
export const TIMEOUT_MS = 30_000;

const decoder = new TextDecoder();

/** A folder under the system temp folder, removed with everything in it on dispose. */
export interface TempDir extends AsyncDisposable {
  /** Its absolute path. */
  readonly path: string;
}

/**
 * Makes a temporary folder.
 *
 * @example
 * ```ts ignore
 * await using dir = await makeTempDir();
 * await Deno.writeTextFile(`${dir.path}/a.txt`, "hi");
 * ```
 */
export async function makeTempDir(prefix = "p2pfs-it-"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** SHA-256 of `bytes` as lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * The version id a peer announces for `bytes` when it indexes them in chunks of `chunkSize`
 * (1 MiB, the peers' default).
 */
export function versionId(bytes: Uint8Array, chunkSize = 1024 * 1024): string {
  const chunkHashes: string[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) {
    chunkHashes.push(sha256Hex(bytes.subarray(at, at + chunkSize)));
  }
  return manifestId({ size: bytes.length, chunkSize, sha256: sha256Hex(bytes), chunkHashes });
}

/** `size` random bytes. */
export function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  // getRandomValues fills at most 64 KiB per call.
  for (let at = 0; at < size; at += 65_536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65_536, size)));
  }
  return bytes;
}

/**
 * Writes `bytes` (or text) to `dir/name`, creating the folders of a nested name; returns the bytes.
 */
export async function writeFile(
  dir: string,
  name: string,
  content: Uint8Array | string,
): Promise<Uint8Array> {
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  const path = join(dir, ...name.split("/"));
  await Deno.mkdir(resolve(path, ".."), { recursive: true });
  await Deno.writeFile(path, bytes);
  return bytes;
}

/** Whether two byte arrays hold the same bytes (fast, and without a 3 MiB diff on failure). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether something exists at `path` (a dangling link counts). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Resolves to what `promise` resolves to, or rejects once `ms` have passed.
 *
 * @example
 * ```ts ignore
 * const status = await withTimeout(child.status, 5_000, "the tracker to exit");
 * ```
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const signal = AbortSignal.timeout(ms);
  const { promise: expired, reject } = Promise.withResolvers<never>();
  const onAbort = () => reject(new Error(`Cannot wait for ${what}: no result within ${ms} ms`));
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Calls `check` every `intervalMs` until it returns a value other than `undefined`, and returns it;
 * throws (with the last thing `check` saw) when `timeoutMs` pass first.
 */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? 20_000);
  let last: unknown = "nothing yet";
  while (!signal.aborted) {
    try {
      const value = await check();
      if (value !== undefined) return value;
      last = "condition not met";
    } catch (error) {
      last = error;
    }
    await new Promise((done) => setTimeout(done, options.intervalMs ?? 200));
  }
  throw new Error(`Cannot observe ${what} within ${options.timeoutMs ?? 20_000} ms`, {
    cause: last,
  });
}

/** `code 1`, or `signal SIGTERM` for a process a signal ended, or `unknown status`. */
function describeStatus(status: Deno.CommandStatus | undefined): string {
  if (!status) return "unknown status";
  return status.signal ? `signal ${status.signal}` : `code ${status.code}`;
}

/** Splits a text stream into lines (without the line ends). */
function splitLines(): TransformStream<string, string> {
  let pending = "";
  return new TransformStream({
    transform(chunk, controller) {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const part of parts) controller.enqueue(part.replace(/\r$/, ""));
    },
    flush(controller) {
      if (pending) controller.enqueue(pending);
    },
  });
}

/**
 * A long-running child process whose stdout is collected line by line and whose stderr is
 * collected as text, both drained until the child exits.
 */
export class Spawned implements AsyncDisposable {
  /** What it is, for messages (`tracker`, `peer ann`). */
  readonly label: string;
  /** Every stdout line so far. */
  readonly lines: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #drained: Promise<void>;
  #stderr = "";
  #stdoutEnded = false;
  #status: Deno.CommandStatus | undefined;
  #changed = Promise.withResolvers<void>();

  /**
   * Starts `deno run -A <args>` in the project root, through `wrapper` when given (a command that
   * runs the rest of its arguments, such as `["prlimit", "--nofile=256"]`).
   */
  constructor(
    label: string,
    args: string[],
    env: Record<string, string> = {},
    wrapper: string[] = [],
  ) {
    this.label = label;
    const [program, ...before] = wrapper.length ? wrapper : [Deno.execPath()];
    const child = new Deno.Command(program!, {
      args: [...before, ...(wrapper.length ? [Deno.execPath()] : []), "run", "-A", ...args],
      cwd: ROOT,
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const stdout = (async () => {
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
        splitLines(),
      );
      for await (const line of lines) {
        this.lines.push(line);
        this.#notify();
      }
      this.#stdoutEnded = true;
      this.#notify();
    })();
    const stderr = (async () => {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr += text;
      }
    })();
    child.status.then((status) => {
      this.#status = status;
      this.#notify();
    });
    this.#drained = Promise.all([stdout, stderr, child.status]).then(() => {});
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Everything it wrote on stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Its exit status, once it exited. */
  get status(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  /**
   * Waits for a stdout line matching `pattern` and returns the match; fails with the child's
   * stderr when it exits or stays silent for `timeoutMs`.
   */
  async waitForLine(pattern: RegExp, timeoutMs = TIMEOUT_MS): Promise<RegExpMatchArray> {
    const signal = AbortSignal.timeout(timeoutMs);
    const expired = Promise.withResolvers<void>();
    const onAbort = () => expired.resolve();
    // A listened-to timeout signal keeps a timer alive, so the listener goes when we are done.
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      let seen = 0;
      while (true) {
        for (; seen < this.lines.length; seen++) {
          const match = this.lines[seen]!.match(pattern);
          if (match) return match;
        }
        if (this.#stdoutEnded || this.#status || signal.aborted) {
          const why = signal.aborted
            ? `nothing matched within ${timeoutMs} ms`
            : `it exited (${describeStatus(this.#status)})`;
          throw new Error(
            `Cannot see ${pattern} on ${this.label}'s stdout: ${why}\n` +
              `stdout:\n${this.lines.join("\n")}\nstderr:\n${this.#stderr}`,
          );
        }
        await Promise.race([this.#changed.promise, expired.promise]);
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Sends `signal` (SIGTERM by default) and waits for the exit; kills it with SIGKILL if it does
   * not exit within `timeoutMs`. Resolves to the exit status.
   */
  async stop(signal: Deno.Signal = "SIGTERM", timeoutMs = 10_000): Promise<Deno.CommandStatus> {
    if (!this.#status) {
      try {
        this.#child.kill(signal);
      } catch {
        // it exited meanwhile
      }
      try {
        await withTimeout(this.#child.status, timeoutMs, `${this.label} to exit on ${signal}`);
      } catch (error) {
        this.#child.kill("SIGKILL");
        await this.#drain();
        throw error;
      }
    }
    await this.#drain();
    return this.#status!;
  }

  /** Waits for it to exit by itself; kills it and fails if it has not within `timeoutMs`. */
  async wait(timeoutMs = TIMEOUT_MS): Promise<Deno.CommandStatus> {
    try {
      await withTimeout(this.#child.status, timeoutMs, `${this.label} to exit`);
    } catch (error) {
      this.#child.kill("SIGKILL");
      await this.#drain();
      throw error;
    }
    await this.#drain();
    return this.#status!;
  }

  /** Kills it with SIGKILL (no chance to log out) and waits for the exit. */
  async kill9(): Promise<Deno.CommandStatus> {
    return await this.stop("SIGKILL");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#status) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // it exited meanwhile
      }
    }
    await this.#drain();
  }

  async #drain(): Promise<void> {
    await withTimeout(this.#drained, TIMEOUT_MS, `${this.label}'s output to end`);
  }

  #notify(): void {
    const changed = this.#changed;
    this.#changed = Promise.withResolvers<void>();
    changed.resolve();
  }
}

/** Options of {@link startTracker}. */
export interface TrackerOptions {
  /** Heartbeat interval in ms (`--heartbeat-ms`). */
  heartbeatMs?: number;
  /** Session lifetime in seconds (`--session-ttl`). */
  sessionTtlS?: number;
  /** KV file; by default one in a temporary folder removed when the tracker is disposed. */
  kvPath?: string;
  /** More flags, e.g. `["--trust-announced-hosts"]`. */
  args?: string[];
  /** Protocol port (`--port`); 0, any free port, unless a test restarts a tracker on its old one. */
  port?: number;
  /** A command that runs the tracker, such as `["prlimit", "--nofile=256:256"]`. */
  wrapper?: string[];
}

/** A running tracker process. */
export interface Tracker extends AsyncDisposable {
  /** Its port. */
  readonly port: number;
  /** `127.0.0.1:PORT`, for `--tracker`. */
  readonly address: string;
  /** The dashboard's base URL, `http://127.0.0.1:PORT/` (started with `--http-port 0`). */
  readonly dashboardUrl: string;
  /** The dashboard's port. */
  readonly httpPort: number;
  /** The `limits: …` line it printed at start ("" if none). */
  readonly limits: string;
  /** The KV file it uses. */
  readonly kvPath: string;
  /** The process. */
  readonly process: Spawned;
  /** Stops it with SIGTERM and waits for the exit. */
  stop(): Promise<Deno.CommandStatus>;
  /** Kills it with SIGKILL and waits for the exit. */
  kill9(): Promise<Deno.CommandStatus>;
}

/**
 * Starts `tracker.ts --port 0 --http-port 0` and waits for `tracker listening on 127.0.0.1:PORT`
 * and then `dashboard on http://127.0.0.1:PORT/`.
 *
 * @example
 * ```ts ignore
 * await using tracker = await startTracker({ heartbeatMs: 200 });
 * await registerUsers(tracker.address, ["ann"]);
 * ```
 */
export async function startTracker(options: TrackerOptions = {}): Promise<Tracker> {
  const owned = options.kvPath === undefined ? await makeTempDir("p2pfs-it-kv-") : undefined;
  const kvPath = options.kvPath ?? join(owned!.path, "tracker.kv");
  const port = String(options.port ?? 0);
  const args = ["tracker.ts", "--port", port, "--http-port", "0", "--kv", kvPath];
  if (options.heartbeatMs !== undefined) args.push("--heartbeat-ms", String(options.heartbeatMs));
  if (options.sessionTtlS !== undefined) args.push("--session-ttl", String(options.sessionTtlS));
  // One worker unless the test asks for more: a suite of trackers on a 2-core machine.
  if (!(options.args ?? []).includes("--workers")) args.push("--workers", "1");
  args.push(...options.args ?? []);
  const process = new Spawned("tracker", args, {}, options.wrapper);
  try {
    const match = await process.waitForLine(
      /^tracker listening on 127\.0\.0\.1:(\d+)(?: \(\d+ workers\))?$/,
    );
    const port = Number(match[1]);
    const dashboard = await process.waitForLine(/^dashboard on (http:\/\/127\.0\.0\.1:(\d+)\/)$/);
    const cleanUp = async () => await owned?.[Symbol.asyncDispose]();
    return {
      port,
      address: `127.0.0.1:${port}`,
      dashboardUrl: dashboard[1]!,
      httpPort: Number(dashboard[2]),
      limits: process.lines.find((line) => line.startsWith("limits: ")) ?? "",
      kvPath,
      process,
      async stop() {
        try {
          return await process.stop();
        } finally {
          await cleanUp();
        }
      },
      async kill9() {
        try {
          return await process.kill9();
        } finally {
          await cleanUp();
        }
      },
      async [Symbol.asyncDispose]() {
        await process[Symbol.asyncDispose]();
        await cleanUp();
      },
    };
  } catch (error) {
    await process[Symbol.asyncDispose]();
    await owned?.[Symbol.asyncDispose]();
    throw error;
  }
}

/** A running `peer serve` process. */
export interface ServingPeer extends AsyncDisposable {
  /** Its user name. */
  readonly user: string;
  /** `HOST:PORT` it serves on, as it announced. */
  readonly address: string;
  /** The host it serves on. */
  readonly host: string;
  /** The port it serves on. */
  readonly port: number;
  /** How many files it said it serves. */
  readonly files: number;
  /** The process. */
  readonly process: Spawned;
  /** Stops it with SIGTERM (it logs out) and waits for the exit. */
  stop(): Promise<Deno.CommandStatus>;
  /** Kills it with SIGKILL (no logout) and waits for the exit. */
  kill9(): Promise<Deno.CommandStatus>;
}

/**
 * Starts `peer.ts serve --share DIR --port 0` as `user` and waits for
 * `peer USER serving N files on HOST:PORT`.
 */
export async function startPeer(
  user: string,
  shareDir: string,
  trackerAddress: string,
  options: { password?: string; args?: string[] } = {},
): Promise<ServingPeer> {
  const process = new Spawned(
    `peer ${user}`,
    [
      "peer.ts",
      "serve",
      "--share",
      shareDir,
      "--port",
      "0",
      "--tracker",
      trackerAddress,
      "--user",
      user,
      ...(options.args ?? []),
    ],
    { P2PFS_PASSWORD: options.password ?? PASSWORD },
  );
  try {
    const match = await process.waitForLine(
      /^peer (\S+) serving (\d+) files on ((\d+\.\d+\.\d+\.\d+):(\d+))$/,
    );
    return {
      user,
      address: match[3]!,
      host: match[4]!,
      port: Number(match[5]),
      files: Number(match[2]),
      process,
      stop: () => process.stop(),
      kill9: () => process.kill9(),
      [Symbol.asyncDispose]: () => process[Symbol.asyncDispose](),
    };
  } catch (error) {
    await process[Symbol.asyncDispose]();
    throw error;
  }
}

/** What a finished `peer.ts` command did. */
export interface PeerRun {
  /** Exit code. */
  code: number;
  /** Everything on stdout. */
  stdout: string;
  /** Everything on stderr. */
  stderr: string;
  /** Parses stdout as one JSON document (failing with the whole output when it is not). */
  json<T = unknown>(): T;
}

/** Options of {@link runPeer}. */
export interface RunOptions {
  /** Extra environment (P2PFS_PASSWORD defaults to {@link PASSWORD}). */
  env?: Record<string, string>;
  /** Text written to the command's stdin, which is then closed. */
  stdin?: string;
  /** Gives up (SIGKILL) after this long. Default {@link TIMEOUT_MS}. */
  timeoutMs?: number;
}

/**
 * Runs `peer.ts <args>` to completion.
 *
 * @example
 * ```ts ignore
 * const run = await runPeer(["list", "--json", "--tracker", tracker.address, "--user", "ann"]);
 * assert.equal(run.code, 0, run.stderr);
 * ```
 */
export async function runPeer(args: string[], options: RunOptions = {}): Promise<PeerRun> {
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "peer.ts", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", P2PFS_PASSWORD: PASSWORD, ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const signal = AbortSignal.timeout(timeoutMs);
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  };
  signal.addEventListener("abort", kill, { once: true });
  try {
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      try {
        await writer.write(new TextEncoder().encode(options.stdin));
        await writer.close();
      } catch {
        // the command exited before reading all of its input; its output says why
      }
    }
    const output = await child.output();
    const stdout = decoder.decode(output.stdout);
    const stderr = decoder.decode(output.stderr);
    if (signal.aborted) {
      throw new Error(
        `Cannot finish peer ${args.join(" ")}: no exit within ${timeoutMs} ms\n` +
          `stdout:\n${stdout}\nstderr:\n${stderr}`,
      );
    }
    return {
      code: output.code,
      stdout,
      stderr,
      json<T>() {
        try {
          return JSON.parse(stdout) as T;
        } catch {
          throw new Error(
            `Cannot parse the output of peer ${args[0]} as JSON (exit ${output.code})\n` +
              `stdout:\n${stdout}\nstderr:\n${stderr}`,
          );
        }
      },
    };
  } finally {
    signal.removeEventListener("abort", kill);
  }
}

/** Runs `peer.ts <command> ... --tracker ADDRESS --user USER` to completion. */
export async function runAs(
  user: string,
  trackerAddress: string,
  args: string[],
  options: RunOptions = {},
): Promise<PeerRun> {
  return await runPeer([...args, "--tracker", trackerAddress, "--user", user], options);
}

/** Runs a command that must succeed with `--json` and returns its parsed output. */
export async function runJson<T>(
  user: string,
  trackerAddress: string,
  args: string[],
): Promise<T> {
  const run = await runAs(user, trackerAddress, [...args, "--json"]);
  if (run.code !== 0) {
    throw new Error(
      `Cannot run peer ${args.join(" ")} as ${user}: exit ${run.code}\n${run.stderr}`,
    );
  }
  return run.json<T>();
}

/** Registers each user with {@link PASSWORD} (or `password`) through `peer register`. */
export async function registerUsers(
  trackerAddress: string,
  users: string[],
  password: string = PASSWORD,
): Promise<void> {
  await Promise.all(users.map(async (user) => {
    const run = await runAs(user, trackerAddress, ["register"], {
      env: { P2PFS_PASSWORD: password },
    });
    if (run.code !== 0) {
      throw new Error(`Cannot register ${user}: exit ${run.code}\n${run.stderr}`);
    }
  }));
}

/** `list --json` output. */
export interface ListedFile {
  /** Shared name. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** SHA-256 hex. */
  sha256: string;
  /** The version's manifest id. */
  id: string;
  /** Online holders. */
  sources: number;
}

/** `details --json` output. */
export interface DetailsJson {
  /** Shared name. */
  name: string;
  /** The version's manifest id. */
  id: string;
  /** Size in bytes. */
  size: number;
  /** SHA-256 hex. */
  sha256: string;
  /** Chunk size in bytes. */
  chunkSize: number;
  /** Number of chunks. */
  chunks: number;
  /** Every holder. */
  peers: {
    user: string;
    address: string;
    online: boolean;
    downloads: number;
    failures: number;
    /** Whether it holds the whole file (false: a download in progress). */
    complete: boolean;
    /** Share of the file it holds, 0-1. */
    progress: number;
    /** A download in progress that no online peer can finish (it waits). */
    stalled: boolean;
  }[];
  /** Every version of the name. */
  versions: Pick<VersionInfo, "id" | "sha256" | "size" | "chunkSize" | "holders" | "online">[];
}

/** `get --json` output. */
export interface GetJson {
  /** Shared name. */
  name: string;
  /** Where it was saved. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Verified SHA-256. */
  sha256: string;
  /** Users that delivered bytes. */
  sources: string[];
  /** Bytes fetched in this run. */
  fetchedBytes: number;
  /** Bytes kept from an earlier interrupted run. */
  reusedBytes: number;
  /** Bytes each source delivered. */
  perSource: Record<string, number>;
  /** Wall time. */
  seconds: number;
}

/** The dashboard's `/api/stats`. */
export interface DashboardStats {
  /** Peers online now. */
  peersOnline: number;
  /** Accounts that ever announced. */
  peersTotal: number;
  /** Files known. */
  files: number;
  /** Files with a holder online. */
  filesOnline: number;
  /** Bytes shared by online peers. */
  bytesShared: number;
  /** Transfers reported in the last hour. */
  transfersLastHour: number;
  /** Failed transfers reported in the last hour. */
  failuresLastHour: number;
  /** The most transferred files. */
  busiestFiles: { name: string; transfers: number }[];
}

/** `ping --json` output. */
export interface PingJson {
  /** Who was pinged. */
  user: string;
  /** Whether it answered. */
  online: boolean;
  /** Round trip in ms, or null. */
  rttMs: number | null;
}

/** One mebibyte. */
export const MiB = 1024 * 1024;

/**
 * The one `error:` line a failed command printed on stderr (failing when there is not exactly one;
 * with `alone`, also when stderr holds any other line).
 */
export function errorLine(stderr: string, options: { alone?: boolean } = {}): string {
  const all = stderr.trimEnd().split("\n");
  const lines = all.filter((line) => line.startsWith("error:"));
  if (lines.length !== 1 || (options.alone && all.length !== 1)) {
    throw new Error(
      `expected one error line${options.alone ? " alone" : ""} on stderr, got:\n${stderr}`,
    );
  }
  return lines[0]!;
}

/** How many chunks the state file next to `partPath` records as verified (undefined: none yet). */
export async function verifiedChunks(partPath: string): Promise<number | undefined> {
  try {
    const state = JSON.parse(await Deno.readTextFile(`${partPath}.json`)) as { verified: string };
    let count = 0;
    for (const byte of Uint8Array.fromBase64(state.verified)) {
      for (let b = byte; b; b &= b - 1) count++;
    }
    return count;
  } catch {
    return undefined;
  }
}

/** Closes every connection, ignoring the ones the other side closed already. */
export function closeAll(conns: Iterable<{ close(): void }>): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }
}

/** GETs `url` and parses the JSON body (failing with the status and body when it is not 2xx). */
export async function getJson<T>(url: string | URL): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`Cannot get ${url}: ${response.status} ${await response.text()}`);
  }
  return await response.json() as T;
}

/** The names in a folder, sorted. */
export async function namesIn(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir), (e) => e.name)).sort();
}

/** A raw protocol client logged in as `user`; disposing logs it out and closes it. */
export interface LoggedIn extends AsyncDisposable {
  /** The client. */
  readonly client: TrackerClient;
  /** Its session token. */
  readonly token: string;
}

/** Connects a {@link TrackerClient} to `address` (`HOST:PORT`) and logs in as `user`. */
export async function loggedIn(
  address: string,
  user: string,
  password: string = PASSWORD,
): Promise<LoggedIn> {
  const client = await TrackerClient.connect(parseAddress(address));
  try {
    const session = await client.login(user, password);
    return {
      client,
      token: session.token,
      [Symbol.asyncDispose]: async () => {
        await client.logout(session.token).catch(() => {});
        client.close();
      },
    };
  } catch (error) {
    client.close();
    throw error;
  }
}

/**
 * Registers `users` with `password` straight through the tracker protocol (faster than one
 * `peer register` process each).
 */
export async function registerAccounts(
  trackerAddress: string,
  users: string[],
  password: string = PASSWORD,
): Promise<void> {
  await using client = await TrackerClient.connect(parseAddress(trackerAddress));
  for (const user of users) await client.register(user, password);
}

/**
 * A `peer get <args>` running in the background as `user`.
 *
 * @example
 * ```ts ignore
 * await using get = spawnGet("dl", tracker.address, ["big.bin", "--out", out.path, "--json"]);
 * const result = await getResult(get);
 * ```
 */
export function spawnGet(user: string, trackerAddress: string, args: string[]): Spawned {
  return new Spawned(
    `get as ${user}`,
    ["peer.ts", "get", ...args, "--tracker", trackerAddress, "--user", user],
    { P2PFS_PASSWORD: PASSWORD },
  );
}

/** Waits (at most `timeoutMs`) for a background `get --json` to exit 0 and parses its result. */
export async function getResult(get: Spawned, timeoutMs: number = TIMEOUT_MS): Promise<GetJson> {
  const status = await get.wait(timeoutMs);
  assert.equal(status.code, 0, `${get.label} failed (${describeStatus(status)}):\n${get.stderr}`);
  return JSON.parse(get.lines.join("\n")) as GetJson;
}

/** Options of {@link startSwarm}. */
export interface SwarmOptions {
  /** The bytes of the one file every seed shares. */
  bytes: Uint8Array;
  /** Its shared name; `big.bin` by default. */
  name?: string;
  /** One serving peer per name, each sharing the file from a folder of its own; `["s0"]`. */
  seeds?: string[];
  /** Other accounts to register (downloaders, watchers). */
  users?: string[];
  /** Extra flags for every seed's `serve`, e.g. `["--max-upload", "4MB/s"]`. */
  seedArgs?: string[];
  /** Runs on the seeds' folders (the file written) before any seed starts. */
  prepare?: (dirs: string[]) => Promise<void>;
  /** How to start the tracker. */
  tracker?: TrackerOptions;
}

/** A tracker, seeds serving one file, and registered users; disposing stops and removes it all. */
export interface Swarm extends AsyncDisposable {
  /** The tracker. */
  readonly tracker: Tracker;
  /** The serving peers, in the order of `seeds` (a restarted seed replaces its entry). */
  readonly seeds: ServingPeer[];
  /** The seeds' shared folders, in the same order. */
  readonly dirs: string[];
  /** The file's shared name. */
  readonly name: string;
  /** Its bytes. */
  readonly bytes: Uint8Array;
  /** A `get NAME --out outDir <extra>` running in the background as `user`. */
  get(user: string, outDir: string, extra?: string[]): Spawned;
  /** Starts seed `index` again (after a kill or stop) on a new port, with `args` (or as before). */
  restartSeed(index: number, args?: string[]): Promise<ServingPeer>;
  /** Checks that `outDir/NAME` holds the swarm's bytes (a short message when not). */
  verify(outDir: string): Promise<void>;
  /**
   * Runs `get NAME --out outDir --json <extra>` as `user` to the end, checks that it exited 0 and
   * saved the swarm's bytes, and resolves to its JSON.
   */
  fetch(user: string, outDir: string, extra?: string[]): Promise<GetJson>;
}

/**
 * Starts a tracker, registers the seeds and `users`, writes the file into one folder per seed and
 * starts a serving peer on each.
 *
 * @example
 * ```ts ignore
 * await using swarm = await startSwarm({ bytes: randomBytes(8 * MiB), users: ["dl"] });
 * await using out = await makeTempDir();
 * const result = await getResult(swarm.get("dl", out.path, ["--json"]));
 * await swarm.verify(out.path);
 * ```
 */
export async function startSwarm(options: SwarmOptions): Promise<Swarm> {
  const name = options.name ?? "big.bin";
  const seedUsers = options.seeds ?? ["s0"];
  const seedArgs = (options.seedArgs ?? []).slice();
  const folders: TempDir[] = [];
  const seeds: ServingPeer[] = [];
  const started: ServingPeer[] = [];
  const tracker = await startTracker(options.tracker);
  const dispose = async () => {
    for (const peer of started) await peer[Symbol.asyncDispose]();
    for (const folder of folders) await folder[Symbol.asyncDispose]();
    await tracker[Symbol.asyncDispose]();
  };
  try {
    await registerAccounts(tracker.address, [...seedUsers, ...options.users ?? []]);
    for (let i = 0; i < seedUsers.length; i++) folders.push(await makeTempDir());
    const dirs = folders.map((folder) => folder.path);
    for (const dir of dirs) await writeFile(dir, name, options.bytes);
    await options.prepare?.(dirs);
    const lastArgs = seedUsers.map(() => seedArgs);
    const startSeed = async (index: number, args: string[]) => {
      const peer = await startPeer(seedUsers[index]!, dirs[index]!, tracker.address, { args });
      started.push(peer);
      seeds[index] = peer;
      lastArgs[index] = args;
      return peer;
    };
    for (const index of seedUsers.keys()) await startSeed(index, seedArgs);
    const get = (user: string, outDir: string, extra: string[] = []) =>
      spawnGet(user, tracker.address, [name, "--out", outDir, ...extra]);
    const verify = async (outDir: string) => {
      const saved = await Deno.readFile(join(outDir, ...name.split("/")));
      assert.equal(saved.length, options.bytes.length, `${outDir}/${name} has the wrong size`);
      assert.equal(
        sha256Hex(saved),
        sha256Hex(options.bytes),
        `${outDir}/${name} has the wrong bytes`,
      );
    };
    return {
      tracker,
      seeds,
      dirs,
      name,
      bytes: options.bytes,
      get,
      verify,
      async restartSeed(index, args) {
        await seeds[index]?.[Symbol.asyncDispose]();
        return await startSeed(index, args ?? lastArgs[index]!);
      },
      async fetch(user, outDir, extra = []) {
        await using running = get(user, outDir, ["--json", ...extra]);
        const result = await getResult(running);
        await verify(outDir);
        return result;
      },
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
