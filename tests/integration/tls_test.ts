/**
 * Encryption in transit: a throwaway lab CA made with `openssl`, a tracker and a peer serving over
 * TLS, and clients that trust the CA (they log in, list and download) or do not (refused with a
 * clear error).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  makeTempDir,
  PASSWORD,
  randomBytes,
  runPeer,
  sameBytes,
  Spawned,
  startTracker,
  writeFile,
} from "./_harness.ts";

/** Runs openssl with `args` in `cwd`, failing with its output. */
async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A lab CA and a certificate for 127.0.0.1 signed by it, as files in `dir`. */
async function makeLabCa(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-days",
    "2",
    "-subj",
    "/CN=p2pfs test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  ]);
  await openssl(dir, [
    "req",
    ...ec,
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    "host.key",
    "-out",
    "host.csr",
  ]);
  await Deno.writeTextFile(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "host.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "san.ext",
    "-out",
    "host.pem",
  ]);
  return { ca: join(dir, "ca.pem"), cert: join(dir, "host.pem"), key: join(dir, "host.key") };
}

Deno.test("tls: login, list and a download work over TLS; an untrusting client is refused", async (t) => {
  await using certs = await makeTempDir();
  await using kv = await makeTempDir();
  await using share = await makeTempDir();
  await using out = await makeTempDir();
  const { ca, cert, key } = await makeLabCa(certs.path);
  const tlsServer = ["--tls-cert", cert, "--tls-key", key];

  await using tracker = await startTracker({ kvPath: join(kv.path, "t.kv"), args: tlsServer });
  const { address } = tracker;
  const as = (user: string, args: string[], trust = ["--tls-ca", ca]) =>
    runPeer([...args, "--tracker", address, "--user", user, ...trust]);

  for (const user of ["tina", "tom"]) {
    const run = await as(user, ["register"]);
    assert.equal(run.code, 0, run.stderr);
  }
  const original = randomBytes(3 * 1024 * 1024 + 17);
  await writeFile(share.path, "secret/plan.bin", original);
  await using _peer = new Spawned("tls peer tina", [
    "peer.ts",
    "serve",
    "--share",
    share.path,
    "--tracker",
    address,
    "--user",
    "tina",
    "--tls-ca",
    ca,
    ...tlsServer,
  ], { P2PFS_PASSWORD: PASSWORD });
  await _peer.waitForLine(/^peer tina serving 1 files on /);

  await t.step("a client that trusts the lab CA lists and downloads over TLS", async () => {
    const list = await as("tom", ["list", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(list.json<Array<{ name: string }>>().map((f) => f.name), ["secret/plan.bin"]);
    const get = await as("tom", ["get", "secret/plan.bin", "--out", out.path, "--json"]);
    assert.equal(get.code, 0, get.stderr);
    assert.ok(sameBytes(await Deno.readFile(join(out.path, "secret", "plan.bin")), original));
    const ping = await as("tom", ["ping", "tina", "--json"]);
    assert.equal(ping.json<{ online: boolean }>().online, true);
  });

  await t.step(
    "a client that does not trust the certificate is refused with a clear error",
    async () => {
      const run = await as("tom", ["list"], ["--tls"]);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /error: .*TLS handshake failed.*UnknownIssuer.*--tls-ca/);
    },
  );

  await t.step("a client speaking plain TCP to the TLS tracker is told to use TLS", async () => {
    const run = await as("tom", ["list"], []);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /error: .*speaks TLS; pass --tls-ca/);
  });
});
