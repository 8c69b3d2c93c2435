import assert from "node:assert/strict";
import { LoginThrottle } from "../../lib/tracker/mod.ts";
import {
  LOGIN_FAILURE_WINDOW_MS,
  LOGIN_FREE_FAILURES,
  LOGIN_FREE_FAILURES_PER_ADDRESS,
  LOGIN_MAX_DELAY_MS,
} from "../../lib/protocol/mod.ts";

const GUESSER = "127.0.0.2";
const OWNER = "127.0.0.1";

Deno.test("LoginThrottle allows the first five failures for a name from an address without delay", async () => {
  const throttle = new LoginThrottle({ now: () => 0 });
  for (let i = 0; i < LOGIN_FREE_FAILURES; i++) await throttle.fail("carol", GUESSER);
  assert.equal(await throttle.retryAfter("carol", GUESSER), 0);
});

Deno.test("LoginThrottle doubles the wait with each further failure, up to the cap", async () => {
  const throttle = new LoginThrottle({ now: () => 0 });
  for (let i = 0; i < 6; i++) await throttle.fail("k", GUESSER);
  assert.equal(await throttle.retryAfter("k", GUESSER), 1000);
  await throttle.fail("k", GUESSER);
  assert.equal(await throttle.retryAfter("k", GUESSER), 2000);
  for (let i = 0; i < 30; i++) await throttle.fail("k", GUESSER);
  assert.equal(await throttle.retryAfter("k", GUESSER), LOGIN_MAX_DELAY_MS);
});

Deno.test("LoginThrottle never slows a name from another address, however many guesses came from one", async () => {
  const throttle = new LoginThrottle({ now: () => 0 });
  for (let i = 0; i < 1000; i++) await throttle.fail("carol", GUESSER);
  assert.equal(await throttle.retryAfter("carol", GUESSER), LOGIN_MAX_DELAY_MS);
  assert.equal(await throttle.retryAfter("carol", OWNER), 0);
  assert.equal(await throttle.retryAfter("Carol", OWNER), 0);
});

Deno.test("LoginThrottle counts one name in any case as one", async () => {
  const throttle = new LoginThrottle({ now: () => 0 });
  for (let i = 0; i < 3; i++) await throttle.fail("carol", GUESSER);
  for (let i = 0; i < 3; i++) await throttle.fail("CAROL", GUESSER);
  assert.equal(await throttle.retryAfter("Carol", GUESSER), 1000);
});

Deno.test("LoginThrottle slows an address after 20 failures across names, for every name", async () => {
  const throttle = new LoginThrottle({ now: () => 0 });
  for (let i = 0; i < LOGIN_FREE_FAILURES_PER_ADDRESS; i++) {
    await throttle.fail(`guess${i}`, GUESSER);
  }
  assert.equal(await throttle.retryAfter("fresh", GUESSER), 0);
  await throttle.fail("guess-last", GUESSER);
  assert.equal(await throttle.retryAfter("fresh", GUESSER), 1000);
  assert.equal(await throttle.retryAfter("fresh", OWNER), 0);
});

Deno.test("LoginThrottle counts an IPv6 /64 as one address", async () => {
  const throttle = new LoginThrottle({ now: () => 0 });
  for (let i = 0; i <= LOGIN_FREE_FAILURES; i++) {
    await throttle.fail("carol", `2001:db8:0:1::${i + 1}`);
  }
  assert.equal(await throttle.retryAfter("carol", "2001:db8:0:1:ffff::1"), 1000);
  assert.equal(await throttle.retryAfter("carol", "2001:db8:0:2::1"), 0);
});

Deno.test("LoginThrottle never makes a guesser at one try per five minutes wait", async () => {
  let now = 0;
  const throttle = new LoginThrottle({ now: () => now });
  for (let i = 0; i < 10 * 12; i++) { // ten hours
    assert.equal(await throttle.retryAfter("carol", GUESSER), 0, `guess ${i}`);
    await throttle.fail("carol", GUESSER);
    now += 5 * 60_000;
  }
});

Deno.test("LoginThrottle ends every wait and forgets failures after LOGIN_FAILURE_WINDOW_MS", async () => {
  let now = 0;
  const throttle = new LoginThrottle({ now: () => now });
  for (let i = 0; i < 100; i++) await throttle.fail("carol", GUESSER);
  assert.equal(await throttle.retryAfter("carol", GUESSER), LOGIN_MAX_DELAY_MS);
  now += LOGIN_MAX_DELAY_MS;
  assert.equal(await throttle.retryAfter("carol", GUESSER), 0);
  // Within the window the count is still high: one more failure waits the longest again.
  await throttle.fail("carol", GUESSER);
  assert.equal(await throttle.retryAfter("carol", GUESSER), LOGIN_MAX_DELAY_MS);
  // Once the window has passed, every failure is forgotten: five free failures again.
  now += LOGIN_FAILURE_WINDOW_MS;
  for (let i = 0; i < LOGIN_FREE_FAILURES; i++) await throttle.fail("carol", GUESSER);
  assert.equal(await throttle.retryAfter("carol", GUESSER), 0);
});

Deno.test("LoginThrottle forgets a name's failures from that address after a success, not the address's", async () => {
  const throttle = new LoginThrottle({ now: () => 0 });
  for (let i = 0; i < 7; i++) await throttle.fail("ann", GUESSER);
  for (let i = 0; i < LOGIN_FREE_FAILURES_PER_ADDRESS; i++) await throttle.fail(`x${i}`, GUESSER);
  assert.ok(await throttle.retryAfter("ann", GUESSER) > 0);
  await throttle.succeed("ann", GUESSER);
  // The address still carries its 27 failures: logging in to one's own account resets nothing else.
  assert.ok(await throttle.retryAfter("bob", GUESSER) > 0);
});

Deno.test("LoginThrottle without an address counts the name alone", async () => {
  const throttle = new LoginThrottle({ now: () => 0 });
  for (let i = 0; i < 6; i++) await throttle.fail("ann");
  assert.equal(await throttle.retryAfter("ann"), 1000);
  assert.equal(await throttle.retryAfter("ann", OWNER), 0);
  await throttle.succeed("ann");
  assert.equal(await throttle.retryAfter("ann"), 0);
});
