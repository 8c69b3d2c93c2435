/**
 * Who may see the dashboard: a stranger sees only the sign-in page, a member signs in (in
 * Chromium), the API takes a Bearer token, an admin acts on the admin page, and a cross-site POST
 * fails. Real tracker processes on loopback.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { launchChromium } from "./_browser.ts";
import {
  makeTempDir,
  PASSWORD,
  registerUsers,
  runAs,
  runPeer,
  startPeer,
  startTracker,
} from "./_harness.ts";

/** Signs in through the form; the session cookie's token. */
async function signIn(base: string, user: string): Promise<string> {
  const response = await fetch(new URL("/signin", base), {
    method: "POST",
    body: new URLSearchParams({ user, password: PASSWORD }),
    redirect: "manual",
  });
  assert.equal(response.status, 303);
  const cookie = response.headers.get("set-cookie") ?? "";
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  return /p2pfs_session=([^;]+)/.exec(cookie)![1]!;
}

Deno.test("with --dashboard-access members a stranger gets only the sign-in page; a member's cookie or Bearer token opens pages, API and metrics", async () => {
  await using tracker = await startTracker({ args: ["--dashboard-access", "members"] });
  const base = tracker.dashboardUrl;
  await registerUsers(tracker.address, ["ann"]);

  for (const path of ["/", "/files", "/peers", "/transfers"]) {
    const page = await fetch(new URL(path, base), {
      headers: { accept: "text/html" },
      redirect: "manual",
    });
    await page.body?.cancel();
    assert.equal(page.status, 303, path);
    assert.match(page.headers.get("location")!, /^\/signin\?next=/);
  }
  for (const path of ["/api/stats", "/api/files", "/metrics"]) {
    const api = await fetch(new URL(path, base));
    await api.body?.cancel();
    assert.equal(api.status, 401, path);
  }
  const health = await fetch(new URL("/healthz", base));
  assert.equal(health.status, 200, "health checks stay open");
  await health.body?.cancel();
  const wrong = await fetch(new URL("/signin", base), {
    method: "POST",
    body: new URLSearchParams({ user: "ann", password: "not-the-password" }),
    redirect: "manual",
  });
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /wrong username or password/);

  const token = await signIn(base, "ann");
  const files = await fetch(new URL("/files", base), {
    headers: { cookie: `p2pfs_session=${token}` },
  });
  assert.equal(files.status, 200);
  await files.body?.cancel();
  // A kept session (p2pfs-peer login) is a Bearer token for scripts and scrapers.
  await using config = await makeTempDir();
  const login = await runAs("ann", tracker.address, ["login"], {
    env: { XDG_CONFIG_HOME: config.path },
  });
  assert.equal(login.code, 0, login.stderr);
  const kept = JSON.parse(
    await Deno.readTextFile(join(config.path, "p2pfs", "sessions.json")),
  ) as Record<string, { token: string }>;
  const bearer = Object.values(kept)[0]!.token;
  const stats = await fetch(new URL("/api/stats", base), {
    headers: { authorization: `Bearer ${bearer}` },
  });
  assert.equal(stats.status, 200);
  assert.equal(typeof (await stats.json()).files, "number");
  const metrics = await fetch(new URL("/metrics", base), {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /p2pfs_/);
});

Deno.test("admin actions on the dashboard: a member is refused the admin page, and a cross-site POST or one without the form's token fails", async () => {
  await using tracker = await startTracker({ args: ["--dashboard-access", "members"] });
  const base = tracker.dashboardUrl;
  assert.equal((await runAs("root", tracker.address, ["register"])).code, 0);
  await registerUsers(tracker.address, ["mia"]);
  const root = await signIn(base, "root");
  const mia = await signIn(base, "mia");

  const refused = await fetch(new URL("/admin", base), {
    headers: { cookie: `p2pfs_session=${mia}` },
  });
  assert.equal(refused.status, 403);
  await refused.body?.cancel();

  const adminPage = await fetch(new URL("/admin", base), {
    headers: { cookie: `p2pfs_session=${root}` },
  });
  const markup = await adminPage.text();
  const csrf = /name="csrf" value="([0-9a-f]+)"/.exec(markup)![1]!;
  const kick = (headers: Record<string, string>, body: Record<string, string>) =>
    fetch(new URL("/admin/action", base), {
      method: "POST",
      headers: { cookie: `p2pfs_session=${root}`, ...headers },
      body: new URLSearchParams(body),
    });
  const crossSite = await kick({ origin: "http://attacker.example" }, {
    csrf,
    action: "disable",
    user: "mia",
  });
  assert.equal(crossSite.status, 403);
  await crossSite.body?.cancel();
  const noToken = await kick({}, { action: "disable", user: "mia" });
  assert.equal(noToken.status, 403);
  await noToken.body?.cancel();
  const otherToken = await kick({}, { csrf: "0".repeat(32), action: "disable", user: "mia" });
  assert.equal(otherToken.status, 403);
  await otherToken.body?.cancel();
  // None of them did anything: mia still signs in.
  assert.equal((await runAs("mia", tracker.address, ["list"])).code, 0);

  const done = await kick({ origin: new URL(base).origin }, {
    csrf,
    action: "disable",
    user: "mia",
  });
  assert.equal(done.status, 200);
  assert.match(await done.text(), /disable: mia; ended \d+ session/);
  const blocked = await runPeer(["list", "--user", "mia", "--tracker", tracker.address]);
  assert.equal(blocked.code, 1);
  assert.match(blocked.stderr, /disabled by an operator/);
});

Deno.test("in Chromium: a stranger sees only the sign-in page; an admin signs in, sees a page, kicks an account on the admin page and signs out", async () => {
  await using tracker = await startTracker({ args: ["--dashboard-access", "members"] });
  const base = tracker.dashboardUrl;
  assert.equal((await runAs("root", tracker.address, ["register"])).code, 0);
  await registerUsers(tracker.address, ["noa"]);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(new URL("/files", base).href);
    assert.equal(new URL(page.url()).pathname, "/signin");
    assert.equal(await page.locator("h1").textContent(), "Sign in");
    assert.equal(await page.locator("table").count(), 0, "a stranger sees no data");

    await page.fill('input[name="user"]', "root");
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(/\/files$/), page.click('button[type="submit"]')]);
    assert.match((await page.locator("h1").textContent()) ?? "", /Files/);

    await page.goto(new URL("/admin", base).href);
    assert.equal(await page.locator('tr[data-user="noa"]').count(), 1);
    await Promise.all([
      page.waitForSelector("#admin-note"),
      page.click('tr[data-user="noa"] button[data-action="kick"]'),
    ]);
    assert.match((await page.locator("#admin-note").textContent()) ?? "", /kick: noa/);
    assert.match((await page.locator("table").last().textContent()) ?? "", /kick\s*noa/);

    await Promise.all([page.waitForURL(/\/signin$/), page.click('form[action="/signout"] button')]);
    await page.goto(new URL("/admin", base).href);
    assert.equal(new URL(page.url()).pathname, "/signin", "signed out");
  } finally {
    await browser.close();
  }
});

Deno.test("a metrics token from 'admin token --scope metrics' opens /metrics and nothing else; the admin page shows who downloaded what from whom", async () => {
  await using tracker = await startTracker({ args: ["--dashboard-access", "admins"] });
  const base = tracker.dashboardUrl;
  assert.equal((await runAs("root", tracker.address, ["register"])).code, 0);
  await registerUsers(tracker.address, ["ada", "bea"]);
  const made = await runAs("root", tracker.address, ["admin", "token", "--scope", "metrics"]);
  assert.equal(made.code, 0, made.stderr);
  const scrape = made.stdout.split("\n")[0]!;
  const metrics = await fetch(new URL("/metrics", base), {
    headers: { authorization: `Bearer ${scrape}` },
  });
  assert.equal(metrics.status, 200);
  await metrics.body?.cancel();
  const api = await fetch(new URL("/api/stats", base), {
    headers: { authorization: `Bearer ${scrape}` },
  });
  assert.equal(api.status, 401, "the metrics token opens nothing else");
  await api.body?.cancel();
  const member = await signIn(base, "ada");
  const page = await fetch(new URL("/files", base), {
    headers: { cookie: `p2pfs_session=${member}` },
  });
  assert.equal(page.status, 403, "--dashboard-access admins: members are refused");
  await page.body?.cancel();

  // A download reported by bea shows on the admin page.
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  await Deno.writeFile(join(share.path, "handout.txt"), new TextEncoder().encode("handout"));
  await using _ada = await startPeer("ada", share.path, tracker.address);
  const get = await runAs("bea", tracker.address, ["get", "handout.txt", "--out", out.path]);
  assert.equal(get.code, 0, get.stderr);
  const root = await signIn(base, "root");
  const admin = await fetch(new URL("/admin", base), {
    headers: { cookie: `p2pfs_session=${root}` },
  });
  const markup = await admin.text();
  const table = markup.slice(markup.indexOf('id="transfer-audit"'));
  assert.match(
    table,
    /<td>bea<\/td>\s*<td>handout\.txt<\/td>\s*<td>ada<\/td>\s*<td>7<\/td>\s*<td>ok<\/td>/,
  );
});
