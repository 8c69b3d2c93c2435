import assert from "node:assert/strict";
import {
  HashBusyError,
  hashPassword,
  SCRYPT_PARAMS,
  ScryptHasher,
  verifyPassword,
} from "../../lib/tracker/mod.ts";
import { MAX_CONCURRENT_HASHES } from "../../lib/protocol/mod.ts";

Deno.test("verifyPassword() accepts the password that was hashed", async () => {
  const stored = await hashPassword("correct horse battery");
  assert.equal(await verifyPassword("correct horse battery", stored), true);
});

Deno.test("verifyPassword() refuses a different password", async () => {
  const stored = await hashPassword("correct horse battery");
  for (
    const guess of ["correct horse batter", "Correct horse battery", "", "correct horse battery "]
  ) {
    assert.equal(await verifyPassword(guess, stored), false, JSON.stringify(guess));
  }
});

Deno.test("hashPassword() salts each hash, so one password hashes differently twice", async () => {
  const [first, second] = await Promise.all([hashPassword("same"), hashPassword("same")]);
  assert.notEqual(first.salt, second.salt);
  assert.notEqual(first.hash, second.hash);
  assert.equal(await verifyPassword("same", first), true);
  assert.equal(await verifyPassword("same", second), true);
});

Deno.test("hashPassword() stores only salt, parameters and key, never the password", async () => {
  const password = "plain-text-secret-42";
  const stored = await hashPassword(password);
  assert.deepEqual(Object.keys(stored).sort(), ["N", "hash", "p", "r", "salt"]);
  assert.match(stored.salt, /^[0-9a-f]{32}$/);
  assert.match(stored.hash, new RegExp(`^[0-9a-f]{${SCRYPT_PARAMS.keyBytes * 2}}$`));
  assert.deepEqual([stored.N, stored.r, stored.p], [
    SCRYPT_PARAMS.N,
    SCRYPT_PARAMS.r,
    SCRYPT_PARAMS.p,
  ]);
  const serialized = JSON.stringify(stored);
  assert.equal(serialized.includes(password), false);
  assert.equal(serialized.includes(new TextEncoder().encode(password).toHex()), false);
});

Deno.test("verifyPassword() refuses a record whose key was tampered with", async () => {
  const stored = await hashPassword("password1");
  const flipped = (stored.hash[0] === "0" ? "1" : "0") + stored.hash.slice(1);
  assert.equal(await verifyPassword("password1", { ...stored, hash: flipped }), false);
  assert.equal(await verifyPassword("password1", { ...stored, hash: stored.hash.slice(2) }), false);
});

Deno.test("ScryptHasher runs at most maxConcurrent, queues maxWaiting, and refuses more at once with BUSY", async () => {
  const gate = Promise.withResolvers<void>();
  let running = 0;
  let most = 0;
  const hasher = new ScryptHasher({
    maxConcurrent: MAX_CONCURRENT_HASHES,
    maxWaiting: 3,
    derive: async (password) => {
      most = Math.max(most, ++running);
      await gate.promise;
      running--;
      return new TextEncoder().encode(password.padEnd(32, "."));
    },
  });
  const accepted = Array.from(
    { length: MAX_CONCURRENT_HASHES + 3 },
    (_, i) => hasher.hash(`p${i}`),
  );
  assert.deepEqual(hasher.load, { running: MAX_CONCURRENT_HASHES, waiting: 3 });
  await assert.rejects(hasher.hash("one too many"), (error) => {
    assert.ok(error instanceof HashBusyError);
    assert.equal(error.code, "BUSY");
    return true;
  });
  gate.resolve();
  assert.equal((await Promise.all(accepted)).length, MAX_CONCURRENT_HASHES + 3);
  assert.equal(most, MAX_CONCURRENT_HASHES);
  assert.deepEqual(hasher.load, { running: 0, waiting: 0 });
});
