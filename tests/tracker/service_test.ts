import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { setTimeout } from "node:timers/promises";
import { DownloaderKey } from "../../lib/peer/mod.ts";
import {
  decodeTicket,
  detailsReply,
  type FileManifest,
  filesReply,
  importPublicKey,
  LOGIN_FREE_FAILURES_PER_ADDRESS,
  manifestId,
  MAX_COUNTED_PER_PAIR,
  meReply,
  newChallenge,
  okReply,
  peerReply,
  REGISTRATIONS_PER_ADDRESS,
  sessionReply,
  sessionsReply,
  TICKET_TTL_MS,
  TicketError,
  type TrackerRequest,
  verifyTicket,
} from "../../lib/protocol/mod.ts";
import {
  KvTrackerStore,
  MISSED_HEARTBEATS_OFFLINE,
  type PasswordHasher,
  ScryptHasher,
  type ScryptParams,
  TrackerError,
  TrackerService,
  type TrackerServiceOptions,
} from "../../lib/tracker/mod.ts";

const HEARTBEAT_MS = 1_000;
const SESSION_TTL_MS = 60_000;
const OFFLINE_AFTER_MS = MISSED_HEARTBEATS_OFFLINE * HEARTBEAT_MS;

function sha(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function file(name: string, version = "v1", chunks = 3): FileManifest {
  return {
    name,
    size: chunks * 65536 - 1,
    chunkSize: 65536,
    sha256: sha(`${name}@${version}`),
    chunkHashes: Array.from({ length: chunks }, (_, i) => sha(`${name}@${version}#${i}`)),
  };
}

function trackerError(code: string, message?: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof TrackerError, `expected TrackerError, got ${error}`);
    assert.equal(error.code, code);
    if (message !== undefined) assert.equal(error.message, message);
    return true;
  };
}

/**
 * A service on an in-memory store with a clock the test moves by hand.
 */
async function setup(options: TrackerServiceOptions = {}) {
  const store = await KvTrackerStore.open(":memory:");
  const clock = { now: Date.now() };
  const service = new TrackerService(store, {
    heartbeatMs: HEARTBEAT_MS,
    sessionTtlMs: SESSION_TTL_MS,
    now: () => clock.now,
    ...options,
  });
  return {
    store,
    service,
    clock,
    /** Registers `username` and logs in; resolves to the session token. */
    async signUp(username: string, password = "password1"): Promise<string> {
      okReply(await service.handle({ type: "register", username, password }), "register");
      return await this.logIn(username, password);
    },
    /** Logs in once more; resolves to a new session token. */
    async logIn(username: string, password = "password1"): Promise<string> {
      const reply = await service.handle({ type: "login", username, password });
      return sessionReply(reply, "login").token;
    },
    async announce(token: string, files: FileManifest[], replace = false, port = 7071) {
      const request = { type: "announce", token, host: "127.0.0.1", port, replace, files } as const;
      okReply(await service.handle(request), "announce");
    },
    async list(token: string, search?: string, all?: boolean) {
      const request = {
        type: "list" as const,
        token,
        ...(search === undefined ? {} : { search }),
        ...(all === undefined ? {} : { all }),
      };
      return filesReply(await service.handle(request), "list").files;
    },
    async details(token: string, name: string) {
      return detailsReply(await service.handle({ type: "details", token, name }), "details");
    },
    [Symbol.asyncDispose]: () => store[Symbol.asyncDispose](),
  };
}

// Accounts and sessions

Deno.test("TrackerService registers a name once and refuses it again with USER_EXISTS", async () => {
  await using t = await setup();
  okReply(await t.service.handle({ type: "register", username: "ann", password: "password1" }), "");
  await assert.rejects(
    t.service.handle({ type: "register", username: "ann", password: "other-password" }),
    trackerError("USER_EXISTS"),
  );
  // The first password still works.
  await t.logIn("ann", "password1");
});

Deno.test("TrackerService refuses a password shorter than 8 characters with INVALID", async () => {
  await using t = await setup();
  await assert.rejects(
    t.service.handle({ type: "register", username: "ann", password: "1234567" }),
    trackerError("INVALID"),
  );
  assert.equal(await t.store.getUser("ann"), null);
  okReply(await t.service.handle({ type: "register", username: "ann", password: "12345678" }), "");
});

Deno.test("TrackerService login returns a session that expires after sessionTtlMs", async () => {
  await using t = await setup();
  okReply(await t.service.handle({ type: "register", username: "ann", password: "password1" }), "");
  const reply = await t.service.handle({ type: "login", username: "ann", password: "password1" });
  const session = sessionReply(reply, "login");
  assert.equal(session.user, "ann");
  assert.equal(session.expiresAt, t.clock.now + SESSION_TTL_MS);
  assert.equal(session.heartbeatMs, HEARTBEAT_MS);
  // The store keeps only the token's hash.
  assert.equal(await t.store.getSession(session.token, t.clock.now), null);
});

Deno.test("TrackerService gives the same AUTH_FAILED for a wrong password and an unknown user", async () => {
  await using t = await setup();
  await t.signUp("ann");
  const wrong = await t.service.handle({ type: "login", username: "ann", password: "password2" })
    .then(() => assert.fail("login with a wrong password succeeded"), (error) => error);
  const unknown = await t.service.handle({ type: "login", username: "zed", password: "password1" })
    .then(() => assert.fail("login of an unknown user succeeded"), (error) => error);
  assert.ok(trackerError("AUTH_FAILED")(wrong));
  assert.ok(trackerError("AUTH_FAILED")(unknown));
  assert.equal(wrong.message, unknown.message);
});

Deno.test("TrackerService refuses every authenticated request with a forged token as BAD_TOKEN", async () => {
  await using t = await setup();
  const real = await t.signUp("ann");
  await t.announce(real, [file("a.txt")]);
  const token = "forged-token_0123456789abcdefghijklmnopqrstu";
  const requests: TrackerRequest[] = [
    { type: "logout", token },
    { type: "heartbeat", token },
    { type: "list", token },
    { type: "details", token, name: "a.txt" },
    { type: "locate", token, user: "ann" },
    { type: "announce", token, host: "h", port: 1, replace: true, files: [] },
    {
      type: "report",
      token,
      name: "a.txt",
      sha256: file("a.txt").sha256,
      id: manifestId(file("a.txt")),
      source: "ann",
      ok: true,
      bytes: 1,
    },
  ];
  for (const request of requests) {
    await assert.rejects(t.service.handle(request), trackerError("BAD_TOKEN"), request.type);
  }
  // Nothing the forged requests asked for happened.
  assert.equal((await t.list(real)).length, 1);
  assert.deepEqual(await t.store.getStats("ann"), { downloads: 0, failures: 0 });
});

Deno.test("TrackerService refuses a token once the clock passes its sessionTtlMs", async () => {
  await using t = await setup();
  const token = await t.signUp("ann");
  t.clock.now += SESSION_TTL_MS - 1;
  okReply(await t.service.handle({ type: "heartbeat", token }), "heartbeat");
  t.clock.now += 2;
  await assert.rejects(t.service.handle({ type: "heartbeat", token }), trackerError("BAD_TOKEN"));
  await assert.rejects(t.list(token), trackerError("BAD_TOKEN"));
  // A fresh login works again.
  await t.list(await t.logIn("ann"));
});

Deno.test("TrackerService logout revokes the token", async () => {
  await using t = await setup();
  const token = await t.signUp("ann");
  const other = await t.logIn("ann");
  okReply(await t.service.handle({ type: "logout", token }), "logout");
  await assert.rejects(t.list(token), trackerError("BAD_TOKEN"));
  await assert.rejects(t.service.handle({ type: "logout", token }), trackerError("BAD_TOKEN"));
  // Only that session ends.
  assert.deepEqual(await t.list(other), []);
});

// Index: announce, list, details

Deno.test("TrackerService lists announced files and shows their details", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const bob = await t.signUp("bob");
  const [a, report] = [file("a.txt", "v1", 3), file("docs/Report.PDF", "v1", 2)];
  await t.announce(ann, [report, a], false, 9001);

  assert.deepEqual(await t.list(bob), [
    { name: "a.txt", size: a.size, sha256: a.sha256, id: manifestId(a), sources: 1 },
    {
      name: "docs/Report.PDF",
      size: report.size,
      sha256: report.sha256,
      id: manifestId(report),
      sources: 1,
    },
  ]);
  const details = await t.details(bob, "a.txt");
  assert.deepEqual(details, {
    type: "details",
    name: "a.txt",
    id: manifestId(a),
    size: a.size,
    sha256: a.sha256,
    chunkSize: a.chunkSize,
    chunkHashes: a.chunkHashes,
    peers: [{
      user: "ann",
      host: "127.0.0.1",
      port: 9001,
      online: true,
      lastSeen: t.clock.now,
      downloads: 0,
      failures: 0,
      complete: true,
      progress: 1,
    }],
    versions: [{
      id: manifestId(a),
      sha256: a.sha256,
      size: a.size,
      chunkSize: a.chunkSize,
      holders: 1,
      online: 1,
      downloads: 0,
    }],
  });
  await assert.rejects(t.details(bob, "missing.txt"), trackerError("NOT_FOUND"));
});

Deno.test("TrackerService list search matches names case-insensitively", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  await t.announce(ann, [file("a.txt"), file("docs/Report.PDF"), file("report-notes.md")]);
  const names = async (search: string) => (await t.list(ann, search)).map((f) => f.name);
  assert.deepEqual(await names("report"), ["docs/Report.PDF", "report-notes.md"]);
  assert.deepEqual(await names("REPORT"), ["docs/Report.PDF", "report-notes.md"]);
  assert.deepEqual(await names(".pdf"), ["docs/Report.PDF"]);
  assert.deepEqual(await names("nothing"), []);
  assert.equal((await names("")).length, 3);
});

Deno.test("TrackerService list hides files with no online source unless all is true", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const bob = await t.signUp("bob");
  const [a, b] = [file("a.txt"), file("b.txt")];
  await t.announce(ann, [a]);
  t.clock.now += OFFLINE_AFTER_MS; // ann is now at the edge of going offline
  await t.announce(bob, [b]);
  t.clock.now += 1; // ann went offline, bob did not

  assert.deepEqual((await t.list(bob)).map((f) => f.name), ["b.txt"]);
  assert.deepEqual(await t.list(bob, undefined, false), await t.list(bob));
  assert.deepEqual(await t.list(bob, undefined, true), [
    { name: "a.txt", size: a.size, sha256: a.sha256, id: manifestId(a), sources: 0 },
    { name: "b.txt", size: b.size, sha256: b.sha256, id: manifestId(b), sources: 1 },
  ]);
});

Deno.test("TrackerService announce with replace forgets files no longer listed", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  await t.announce(ann, [file("a.txt"), file("b.txt")]);
  await t.announce(ann, [file("c.txt")], false);
  assert.deepEqual((await t.list(ann)).map((f) => f.name), ["a.txt", "b.txt", "c.txt"]);
  await t.announce(ann, [file("b.txt")], true);
  assert.deepEqual((await t.list(ann)).map((f) => f.name), ["b.txt"]);
});

Deno.test("TrackerService counts one source per online holder of a version", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const bob = await t.signUp("bob");
  const carl = await t.signUp("carl");
  await t.announce(ann, [file("a.txt", "v1")]);
  await t.announce(bob, [file("a.txt", "v1")]);
  await t.announce(carl, [file("a.txt", "v2")]);
  const listed = await t.list(ann);
  assert.deepEqual(
    listed.map((f) => [f.sha256, f.sources]).sort(),
    [[file("a.txt", "v1").sha256, 2], [file("a.txt", "v2").sha256, 1]].sort(),
  );
  // details picks the version with the most online holders, or the one asked for.
  const details = await t.details(ann, "a.txt");
  assert.equal(details.sha256, file("a.txt", "v1").sha256);
  assert.deepEqual(details.peers.map((p) => p.user).sort(), ["ann", "bob"]);
  const v2 = detailsReply(
    await t.service.handle({
      type: "details",
      token: ann,
      name: "a.txt",
      sha256: file("a.txt", "v2").sha256,
    }),
    "details",
  );
  assert.deepEqual(v2.peers.map((p) => p.user), ["carl"]);
});

// Liveness

Deno.test("TrackerService marks a peer offline after 3 missed heartbeat intervals", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const bob = await t.signUp("bob");
  await t.announce(ann, [file("a.txt")]);
  const online = async () => (await t.details(bob, "a.txt")).peers[0]?.online;

  t.clock.now += OFFLINE_AFTER_MS;
  assert.equal(await online(), true);
  t.clock.now += 1;
  assert.equal(await online(), false);
  const located = peerReply(
    await t.service.handle({ type: "locate", token: bob, user: "ann" }),
    "",
  );
  assert.equal(located.online, false);

  // A heartbeat brings it back.
  okReply(await t.service.handle({ type: "heartbeat", token: ann }), "heartbeat");
  assert.equal(await online(), true);
  t.clock.now += OFFLINE_AFTER_MS;
  assert.equal(await online(), true);
  t.clock.now += 1;
  assert.equal(await online(), false);
});

Deno.test("TrackerService marks a peer offline when the announcing session logs out", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const bob = await t.signUp("bob");
  await t.announce(ann, [file("a.txt")]);
  okReply(await t.service.handle({ type: "logout", token: ann }), "logout");
  assert.equal((await t.details(bob, "a.txt")).peers[0]?.online, false);
  assert.deepEqual(await t.list(bob), []);
  const located = peerReply(
    await t.service.handle({ type: "locate", token: bob, user: "ann" }),
    "",
  );
  assert.deepEqual(located, {
    type: "peer",
    user: "ann",
    host: "127.0.0.1",
    port: 7071,
    online: false,
  });
});

Deno.test("TrackerService keeps a peer online when another session of the same user logs out", async () => {
  await using t = await setup();
  const announcing = await t.signUp("ann");
  const bob = await t.signUp("bob");
  await t.announce(announcing, [file("a.txt")]);

  // A one-shot command logs in as ann, looks around and logs out.
  const oneShot = await t.logIn("ann");
  await t.list(oneShot);
  okReply(await t.service.handle({ type: "logout", token: oneShot }), "logout");

  assert.equal((await t.details(bob, "a.txt")).peers[0]?.online, true);
  assert.equal((await t.list(bob))[0]?.sources, 1);
  okReply(await t.service.handle({ type: "heartbeat", token: announcing }), "heartbeat");
});

Deno.test("TrackerService only counts heartbeats from the session that announced", async () => {
  await using t = await setup();
  const announcing = await t.signUp("ann");
  const other = await t.logIn("ann");
  await t.announce(announcing, [file("a.txt")]);
  t.clock.now += OFFLINE_AFTER_MS + 1;
  okReply(await t.service.handle({ type: "heartbeat", token: other }), "heartbeat");
  assert.equal((await t.details(other, "a.txt")).peers[0]?.online, false);
  okReply(await t.service.handle({ type: "heartbeat", token: announcing }), "heartbeat");
  assert.equal((await t.details(other, "a.txt")).peers[0]?.online, true);
});

Deno.test("TrackerService locate refuses a user that never announced with NOT_FOUND", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  await t.signUp("bob");
  await assert.rejects(
    t.service.handle({ type: "locate", token: ann, user: "bob" }),
    trackerError("NOT_FOUND"),
  );
});

// Reports

Deno.test("TrackerService counts one outcome per downloader, source and version a day, and only after a details", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const bob = await t.signUp("bob");
  const a = file("a.txt");
  await t.announce(ann, [a]);
  const report = {
    type: "report",
    token: bob,
    name: a.name,
    sha256: a.sha256,
    id: manifestId(a),
    source: "ann",
  } as const;
  // Without a details that handed bob the source ann, a report counts for nothing.
  await assert.rejects(
    t.service.handle({ ...report, ok: true, bytes: a.size }),
    trackerError("FORBIDDEN"),
  );
  await t.details(bob, a.name);
  okReply(await t.service.handle({ ...report, ok: true, bytes: a.size }), "report");
  // Repeating it cannot raise ann's count.
  await assert.rejects(
    t.service.handle({ ...report, ok: true, bytes: a.size }),
    trackerError("FORBIDDEN"),
  );
  // Nor can asking details again and reporting 100 times, either way.
  for (let i = 0; i < 100; i++) {
    await t.details(bob, a.name);
    const reply = await t.service.handle({ ...report, ok: i % 2 === 0, bytes: a.size });
    assert.deepEqual(reply, { type: "ok", counted: false });
  }
  assert.deepEqual(await t.store.getStats("ann"), { downloads: 1, failures: 0 });
  // A day later the same pair may count again.
  t.clock.now += 24 * 3600_000;
  const later = await t.logIn("bob");
  await t.details(later, a.name);
  okReply(
    await t.service.handle({ ...report, token: later, ok: false, bytes: 0, reason: "corrupt" }),
    "report",
  );
  assert.deepEqual(await t.store.getStats("ann"), { downloads: 1, failures: 1 });
  const peer = (await t.details(later, a.name)).peers[0];
  assert.deepEqual([peer?.downloads, peer?.failures], [1, 1]);
  assert.deepEqual(await t.store.getStats("bob"), { downloads: 0, failures: 0 });
});

Deno.test("TrackerService counts at most MAX_COUNTED_PER_PAIR downloads from one source to one downloader a day, however many versions", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const bob = await t.signUp("bob");
  const files = Array.from({ length: 20 }, (_, i) => file(`made-up-${i}.bin`, "v1", 1));
  await t.announce(ann, files);
  const counted: boolean[] = [];
  for (const f of files) {
    await t.details(bob, f.name);
    const reply = await t.service.handle({
      type: "report",
      token: bob,
      name: f.name,
      sha256: f.sha256,
      id: manifestId(f),
      source: "ann",
      ok: true,
      bytes: f.size,
    });
    okReply(reply, "report");
    counted.push(reply.counted !== false);
  }
  assert.equal(counted.filter((c) => c).length, MAX_COUNTED_PER_PAIR);
  assert.deepEqual(await t.store.getStats("ann"), { downloads: MAX_COUNTED_PER_PAIR, failures: 0 });
});

Deno.test("TrackerService counts a partial delivery as that fraction of a download", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const bob = await t.signUp("bob");
  const a = file("a.txt");
  await t.announce(ann, [a]);
  await t.details(bob, a.name);
  okReply(
    await t.service.handle({
      type: "report",
      token: bob,
      name: a.name,
      sha256: a.sha256,
      id: manifestId(a),
      source: "ann",
      ok: true,
      bytes: Math.floor(a.size / 4),
    }),
    "report",
  );
  const { downloads } = await t.store.getStats("ann");
  assert.ok(downloads > 0.2 && downloads <= 0.25, `downloads ${downloads}`);
});

Deno.test("TrackerService refuses a report about oneself with FORBIDDEN", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const a = file("a.txt");
  await t.announce(ann, [a]);
  await assert.rejects(
    t.service.handle({
      type: "report",
      token: ann,
      name: a.name,
      sha256: a.sha256,
      id: manifestId(a),
      source: "ann",
      ok: true,
      bytes: 1,
    }),
    trackerError("FORBIDDEN"),
  );
  assert.deepEqual(await t.store.getStats("ann"), { downloads: 0, failures: 0 });
});

Deno.test("TrackerService refuses a report about a user that does not hold the file with NOT_FOUND", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const bob = await t.signUp("bob");
  await t.signUp("carl");
  const a = file("a.txt");
  await t.announce(ann, [a]);
  const base = { type: "report", token: bob, ok: false, bytes: 0 } as const;
  const refused = [
    { ...base, name: a.name, sha256: a.sha256, id: manifestId(a), source: "carl" }, // shares nothing
    { ...base, name: a.name, sha256: a.sha256, id: manifestId(a), source: "nobody" }, // no such user
    { ...base, name: a.name, sha256: a.sha256, id: sha("other"), source: "ann" }, // another version
    { ...base, name: "b.txt", sha256: a.sha256, id: manifestId(a), source: "ann" }, // another name
  ];
  for (const request of refused) {
    await assert.rejects(t.service.handle(request), trackerError("NOT_FOUND"));
  }
  for (const user of ["ann", "carl", "nobody"]) {
    assert.deepEqual(await t.store.getStats(user), { downloads: 0, failures: 0 });
  }
});

Deno.test("TrackerService slows logins after 5 failures per user from one caller, even for unknown users", async () => {
  await using t = await setup();
  await t.signUp("ann");
  for (const username of ["ann", "nobody"]) {
    for (let i = 0; i < 6; i++) {
      await assert.rejects(
        t.service.handle({ type: "login", username, password: "wrong-password" }),
        trackerError("AUTH_FAILED", "Cannot log in: wrong username or password"),
      );
    }
    // The right password is refused too while the back-off lasts, with no hint about the user.
    await assert.rejects(
      t.service.handle({ type: "login", username, password: "password1" }),
      trackerError("RATE_LIMITED"),
    );
  }
  t.clock.now += 1000;
  await t.logIn("ann");
});

Deno.test("TrackerService slows logins per address across user names", async () => {
  await using t = await setup();
  await t.signUp("ann");
  const from = { address: "192.0.2.7" };
  for (let i = 0; i <= LOGIN_FREE_FAILURES_PER_ADDRESS; i++) {
    await assert.rejects(
      t.service.handle({ type: "login", username: `guess${i}`, password: "x" }, from),
      trackerError("AUTH_FAILED"),
    );
  }
  await assert.rejects(
    t.service.handle({ type: "login", username: "ann", password: "password1" }, from),
    trackerError("RATE_LIMITED"),
  );
  // Another address is not affected.
  await t.service.handle(
    { type: "login", username: "ann", password: "password1" },
    { address: "192.0.2.8" },
  );
});

Deno.test("TrackerService never locks the real user out from another address, however many guesses came from one", async () => {
  await using t = await setup();
  await t.signUp("carol");
  const guesser = { address: "127.0.0.2" };
  const replies: string[] = [];
  for (let i = 0; i < 9; i++) {
    const request = { type: "login", username: "carol", password: `guess-${i}` } as const;
    replies.push(await t.service.handle(request, guesser).then(() => "ok", (e) => e.code));
  }
  assert.deepEqual(replies, [...Array(6).fill("AUTH_FAILED"), ...Array(3).fill("RATE_LIMITED")]);
  const reply = await t.service.handle(
    { type: "login", username: "carol", password: "password1" },
    { address: "127.0.0.1" },
  );
  assert.equal(sessionReply(reply, "login").user, "carol");
});

Deno.test("TrackerService lets a guess every five minutes neither wait nor lock anyone out", async () => {
  await using t = await setup();
  await t.signUp("carol");
  for (let i = 0; i < 15; i++) {
    await assert.rejects(
      t.service.handle(
        { type: "login", username: "carol", password: `guess-${i}` },
        { address: "127.0.0.2" },
      ),
      trackerError("AUTH_FAILED"),
    );
    t.clock.now += 5 * 60_000;
  }
  await t.service.handle(
    { type: "login", username: "carol", password: "password1" },
    { address: "127.0.0.1" },
  );
});

/** A hasher that counts its calls and whose derivations wait until {@link open} is called. */
function heldHasher(bounds: { maxConcurrent: number; maxWaiting: number }) {
  let release = Promise.withResolvers<void>();
  release.resolve();
  const counts = { hash: 0, verify: 0, derive: 0 };
  const inner = new ScryptHasher({
    ...bounds,
    derive: async (password: string, salt: Uint8Array, _params: ScryptParams) => {
      counts.derive++;
      await release.promise;
      return new Uint8Array(createHash("sha256").update(password).update(salt).digest());
    },
  });
  const hasher: PasswordHasher = {
    hash: (password) => (counts.hash++, inner.hash(password)),
    verify: (password, stored) => (counts.verify++, inner.verify(password, stored)),
  };
  return {
    hasher,
    inner,
    counts,
    hold: () => release = Promise.withResolvers<void>(),
    open: () => release.resolve(),
  };
}

Deno.test("TrackerService refuses a taken name with USER_EXISTS without hashing", async () => {
  const held = heldHasher({ maxConcurrent: 2, maxWaiting: 32 });
  await using t = await setup({ hasher: held.hasher });
  okReply(await t.service.handle({ type: "register", username: "ann", password: "password1" }), "");
  assert.equal(held.counts.hash, 1);
  for (const username of ["ann", "Ann", "ANN"]) {
    await assert.rejects(
      t.service.handle({ type: "register", username, password: "password2" }),
      trackerError("USER_EXISTS"),
    );
  }
  assert.equal(held.counts.hash, 1);
});

Deno.test("TrackerService answers BUSY at once when the hash queue is full, but USER_EXISTS for a taken name", async () => {
  const held = heldHasher({ maxConcurrent: 1, maxWaiting: 1 });
  await using t = await setup({ hasher: held.hasher });
  await t.signUp("ann");
  held.hold();
  // One hash runs and one waits, both held.
  const first = t.service.handle({ type: "register", username: "bob", password: "password1" });
  const second = t.service.handle({ type: "register", username: "cid", password: "password1" });
  for (let i = 0; i < 1000 && held.inner.load.waiting < 1; i++) await setTimeout(0);
  assert.deepEqual(held.inner.load, { running: 1, waiting: 1 });
  await assert.rejects(
    t.service.handle({ type: "register", username: "dee", password: "password1" }),
    trackerError("BUSY"),
  );
  await assert.rejects(
    t.service.handle({ type: "login", username: "ann", password: "password1" }),
    trackerError("BUSY"),
  );
  await assert.rejects(
    t.service.handle({ type: "register", username: "Ann", password: "password1" }),
    trackerError("USER_EXISTS"),
  );
  held.open();
  okReply(await first, "register");
  okReply(await second, "register");
  // BUSY was no failed login: the right password works at once.
  await t.logIn("ann");
});

Deno.test("TrackerService limits registrations per address, taken names included", async () => {
  await using t = await setup();
  await t.signUp("ann");
  const from = { address: "192.0.2.9" };
  for (let i = 0; i < REGISTRATIONS_PER_ADDRESS; i++) {
    await assert.rejects(
      t.service.handle({ type: "register", username: "ann", password: "password1" }, from),
      trackerError("USER_EXISTS"),
    );
  }
  await assert.rejects(
    t.service.handle({ type: "register", username: "new-name", password: "password1" }, from),
    trackerError("RATE_LIMITED"),
  );
  okReply(
    await t.service.handle(
      { type: "register", username: "new-name", password: "password1" },
      { address: "192.0.2.10" },
    ),
    "register",
  );
  t.clock.now += 60_000;
  await assert.rejects(
    t.service.handle({ type: "register", username: "new-name", password: "password1" }, from),
    trackerError("USER_EXISTS"),
  );
});

Deno.test("TrackerService treats names that differ only in case as one; login in any case gives the registered spelling", async () => {
  await using t = await setup();
  await t.signUp("alice");
  await assert.rejects(
    t.service.handle({ type: "register", username: "Alice", password: "password2" }),
    trackerError(
      "USER_EXISTS",
      "Cannot register: the name Alice is taken (as alice; names are compared without regard to case)",
    ),
  );
  const reply = await t.service.handle({ type: "login", username: "ALICE", password: "password1" });
  const session = sessionReply(reply, "login");
  assert.equal(session.user, "alice");
  const me = meReply(await t.service.handle({ type: "whoami", token: session.token }), "whoami");
  assert.equal(me.user, "alice");
});

Deno.test("TrackerService lists a user's sessions without tokens and revokes one or all", async () => {
  await using t = await setup();
  const first = await t.signUp("ann");
  const second = await t.logIn("ann");
  await t.signUp("bob");
  const reply = sessionsReply(
    await t.service.handle({ type: "sessions", token: first }),
    "sessions",
  );
  assert.equal(reply.sessions.length, 2);
  assert.equal(reply.sessions.filter((s) => s.current).length, 1);
  assert.ok(!JSON.stringify(reply).includes(first) && !JSON.stringify(reply).includes(second));

  const other = reply.sessions.find((s) => !s.current)!;
  await t.service.handle({ type: "logout", token: first, session: other.id });
  await assert.rejects(t.list(second), trackerError("BAD_TOKEN"));
  await t.list(first);

  const third = await t.logIn("ann");
  const all = await t.service.handle({ type: "logout", token: first, all: true });
  assert.equal(all.revoked, 2);
  await assert.rejects(t.list(first), trackerError("BAD_TOKEN"));
  await assert.rejects(t.list(third), trackerError("BAD_TOKEN"));
});

Deno.test("TrackerService whoami tells a user its sessions, peer, shared files and counts", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  await t.logIn("ann");
  const before = meReply(await t.service.handle({ type: "whoami", token: ann }), "whoami");
  assert.equal(before.sessions, 2);
  assert.equal(before.peer, undefined);
  assert.deepEqual([before.files, before.bytes], [0, 0]);
  const a = file("a.txt");
  const b = file("b.txt", "v1", 5);
  await t.announce(ann, [a, b]);
  const after = meReply(await t.service.handle({ type: "whoami", token: ann }), "whoami");
  assert.deepEqual([after.files, after.bytes], [2, a.size + b.size]);
  assert.equal(after.peer?.online, true);
  assert.deepEqual([after.downloads, after.failures], [0, 0]);
});

// Versions: content-addressed manifests

/** `file()` with another chunking or size but the same name and whole-file hash. */
function forged(of: FileManifest, change: { chunkSize?: number; size?: number }): FileManifest {
  const chunkSize = change.chunkSize ?? of.chunkSize;
  const size = change.size ?? of.size;
  const count = Math.ceil(size / chunkSize);
  return {
    ...of,
    chunkSize,
    size,
    chunkHashes: Array.from({ length: count }, (_, i) => sha(`forged ${i}`)),
  };
}

Deno.test("TrackerService refuses manifests that do not add up with INVALID and stores nothing", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const a = file("a.txt", "v1", 3);
  const bad: FileManifest[] = [
    { ...a, size: 64 << 20, chunkHashes: [] }, // 64 MiB with no chunk hashes
    { ...a, size: 2 ** 31, chunkHashes: [] }, // a claimed 2 GiB file
    { ...a, chunkSize: 65536 * 3 }, // not a power of two
    { ...a, chunkSize: 32768, size: 32768 * 3 - 1 }, // below 64 KiB
    { ...a, chunkSize: 32 << 20, size: 1 }, // above 16 MiB
    { ...a, chunkHashes: a.chunkHashes.slice(1) }, // one chunk hash short
    { ...a, size: 0, chunkHashes: [] }, // empty, but not the SHA-256 of nothing
  ];
  for (const manifest of bad) {
    await assert.rejects(
      t.service.handle({
        type: "announce",
        token: ann,
        host: "127.0.0.1",
        port: 7071,
        replace: false,
        files: [manifest],
      }),
      trackerError("INVALID"),
      JSON.stringify({ ...manifest, chunkHashes: manifest.chunkHashes.length }),
    );
  }
  assert.deepEqual(await t.list(ann, undefined, true), []);
  const empty = {
    name: "empty",
    size: 0,
    chunkSize: 65536,
    sha256: sha(""),
    chunkHashes: [],
  };
  await t.announce(ann, [empty]);
  assert.equal((await t.details(ann, "empty")).chunkHashes.length, 0);
});

Deno.test("TrackerService keeps each version under its own id: a forged manifest never hides or replaces the real one", async () => {
  await using t = await setup();
  const alice = await t.signUp("alice");
  const aaa = await t.signUp("aaa");
  const bob = await t.signUp("bob");
  const real = file("report.pdf", "v1", 3);
  // Another chunk size, another size, and a bogus manifest announced then withdrawn, all under
  // alice's name and whole-file hash, some before alice shares.
  const bogus = forged(real, {});
  await t.announce(aaa, [bogus]);
  await t.announce(aaa, [], true);
  await t.announce(alice, [real]);
  await t.announce(aaa, [forged(real, { chunkSize: 2 << 20 })]);
  const aaaSecond = await t.logIn("aaa");
  await t.service.handle({
    type: "announce",
    token: aaaSecond,
    host: "127.0.0.1",
    port: 7072,
    replace: true,
    files: [forged(real, { size: real.size + 1 })],
  });

  // alice's version is whole and hers alone, whatever else is announced under the name.
  const asked = detailsReply(
    await t.service.handle({
      type: "details",
      token: bob,
      name: real.name,
      version: manifestId(real).slice(0, 8),
    }),
    "details",
  );
  assert.equal(asked.id, manifestId(real));
  assert.deepEqual(asked.chunkHashes, real.chunkHashes);
  assert.equal(asked.chunkSize, real.chunkSize);
  assert.equal(asked.size, real.size);
  assert.deepEqual(asked.peers.map((p) => p.user), ["alice"]);
  assert.equal(asked.versions.length, 2);
  assert.ok(asked.versions.some((v) => v.id === manifestId(real) && v.holders === 1));
  // The withdrawn bogus manifest is not a version any more.
  assert.ok(!asked.versions.some((v) => v.id === manifestId(bogus)));
  // list shows each version once.
  const listed = (await t.list(bob)).filter((f) => f.name === real.name);
  assert.equal(listed.length, 2);
  assert.equal(new Set(listed.map((f) => f.id)).size, 2);
});

Deno.test("TrackerService details picks the version with most online holders, then most downloads", async () => {
  await using t = await setup();
  const [ann, bob, cat, dan] = [
    await t.signUp("ann"),
    await t.signUp("bob"),
    await t.signUp("cat"),
    await t.signUp("dan"),
  ];
  const v1 = file("a.txt", "v1", 2);
  const v2 = file("a.txt", "v2", 2);
  await t.announce(ann, [v1]);
  await t.announce(bob, [v2]);
  await t.announce(cat, [v2]);
  assert.equal((await t.details(dan, "a.txt")).id, manifestId(v2));
  // Equal online holders: the version downloaded more wins.
  await t.announce(cat, [], true);
  await t.details(dan, "a.txt");
  const report = {
    type: "report",
    token: dan,
    name: "a.txt",
    source: "ann",
    ok: true,
    bytes: v1.size,
    sha256: v1.sha256,
    id: manifestId(v1),
  } as const;
  await t.service.handle({
    type: "details",
    token: dan,
    name: "a.txt",
    version: manifestId(v1).slice(0, 6),
  });
  okReply(await t.service.handle(report), "report");
  const chosen = await t.details(dan, "a.txt");
  assert.equal(chosen.id, manifestId(v1));
  assert.deepEqual(
    chosen.versions.map((v) => [v.id, v.online, v.downloads]),
    [[manifestId(v1), 1, 1], [manifestId(v2), 1, 0]],
  );
  // A version asked for that is not there, and a report of more bytes than the file has.
  await assert.rejects(
    t.service.handle({ type: "details", token: dan, name: "a.txt", version: "ffffffff" }),
    trackerError("NOT_FOUND"),
  );
  await t.details(dan, "a.txt");
  await assert.rejects(
    t.service.handle({ ...report, source: "ann", bytes: v1.size + 1 }),
    trackerError("INVALID"),
  );
});

Deno.test("TrackerService removes a manifest nobody announced for a day, and keeps one announced again", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const [gone, back, kept] = [file("gone.txt"), file("back.txt"), file("kept.txt")];
  await t.announce(ann, [gone, back, kept]);
  await t.announce(ann, [kept], true);
  assert.equal(await t.service.collectManifests(), 0, "within the grace period");
  t.clock.now += 24 * 3600_000 + 1;
  const again = await t.logIn("ann");
  await t.announce(again, [back]);
  assert.equal(await t.service.collectManifests(), 1);
  assert.equal(await t.store.getChunkHashes(manifestId(gone)), null);
  assert.deepEqual(await t.store.getChunkHashes(manifestId(back)), back.chunkHashes);
  assert.deepEqual(await t.store.getChunkHashes(manifestId(kept)), kept.chunkHashes);
  assert.equal(await t.service.collectManifests(), 0);
});

Deno.test("TrackerService details with a downloader key hands out a ticket for that version, signed with the key login gave", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const bob = await t.signUp("bob");
  const a = file("a.txt");
  await t.announce(ann, [a]);
  const login = sessionReply(
    await t.service.handle({ type: "login", username: "bob", password: "password1" }),
    "login",
  );
  const trackerKey = await importPublicKey(login.trackerKey);
  const mine = await DownloaderKey.generate();

  const plain = detailsReply(
    await t.service.handle({ type: "details", token: bob, name: "a.txt" }),
    "details",
  );
  assert.equal(plain.ticket, undefined, "no key, no ticket");

  const reply = detailsReply(
    await t.service.handle({ type: "details", token: bob, name: "a.txt", key: mine.publicKey }),
    "details",
  );
  assert.ok(reply.ticket);
  const { payload } = decodeTicket(reply.ticket);
  assert.deepEqual(payload, {
    user: "bob",
    version: manifestId(a),
    key: mine.publicKey,
    expiresAt: t.clock.now + TICKET_TTL_MS,
  });
  const challenge = newChallenge();
  const proof = await mine.prove(reply.ticket, challenge);
  const check = { trackerKey, challenge, proof, now: t.clock.now };
  assert.deepEqual(await verifyTicket(reply.ticket, check), payload);
  await assert.rejects(
    verifyTicket(reply.ticket, { ...check, now: payload.expiresAt }),
    (error) => error instanceof TicketError && /expired/.test(error.message),
  );
  // Every login, by anyone, gives the same tracker key.
  const again = sessionReply(
    await t.service.handle({ type: "login", username: "ann", password: "password1" }),
    "login",
  );
  assert.equal(again.trackerKey, login.trackerKey);
});

Deno.test("TrackerService gives no ticket to a revoked session", async () => {
  await using t = await setup();
  const ann = await t.signUp("ann");
  const bob = await t.signUp("bob");
  await t.announce(ann, [file("a.txt")]);
  const key = (await DownloaderKey.generate()).publicKey;
  await t.service.handle({ type: "logout", token: bob, all: true });
  await assert.rejects(
    t.service.handle({ type: "details", token: bob, name: "a.txt", key }),
    trackerError("BAD_TOKEN"),
  );
});

Deno.test("an announce whose commit one tracker holds back longer than any window is listed by another tracker once it lands", async () => {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-held-" });
  try {
    const path = `${dir}/tracker.kv`;
    const { promise: held, resolve: release } = Promise.withResolvers<void>();
    await using storeA = await KvTrackerStore.open(path, {
      beforeChangeCommit: async (change) => {
        if (change.holders?.some(([name]) => name === "late.bin")) await held;
      },
    });
    await using storeB = await KvTrackerStore.open(path);
    const a = new TrackerService(storeA, { heartbeatMs: HEARTBEAT_MS });
    const b = new TrackerService(storeB, { heartbeatMs: HEARTBEAT_MS });
    await b.start();
    try {
      okReply(await a.handle({ type: "register", username: "ann", password: "password1" }), "");
      const login = await a.handle({ type: "login", username: "ann", password: "password1" });
      const token = sessionReply(login, "login").token;
      const file = (name: string, fill: string) => ({
        name,
        size: 1,
        chunkSize: 65536,
        sha256: createHash("sha256").update(fill).digest("hex"),
        chunkHashes: [createHash("sha256").update(fill).digest("hex")],
      });
      const announce = (name: string, fill: string) =>
        a.handle({
          type: "announce",
          token,
          host: "127.0.0.1",
          port: 7071,
          replace: false,
          files: [file(name, fill)],
        });
      const late = announce("late.bin", "late");
      // Later announces land and reach the other tracker while the first is held, for longer
      // than the 2 s by which the log was once read back (a hold, not a wait for an outcome).
      const holdUntil = Date.now() + 2_500;
      for (let i = 0; Date.now() < holdUntil; i++) {
        okReply(await announce(`early${i}.bin`, `e${i}`), "");
        await setTimeout(100);
      }
      const names = async () =>
        filesReply(await b.handle({ type: "list", token, all: true }), "").files.map((f) => f.name);
      assert.ok(!(await names()).includes("late.bin"));
      release();
      await late;
      const deadline = Date.now() + 2_000;
      while (Date.now() < deadline && !(await names()).includes("late.bin")) await setTimeout(25);
      assert.ok((await names()).includes("late.bin"));
    } finally {
      await b.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
