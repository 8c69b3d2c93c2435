import assert from "node:assert/strict";
import { LOGIN_MAX_DELAY_MS, LoginThrottle } from "../../lib/tracker/mod.ts";

Deno.test("LoginThrottle allows the first five failures without delay", () => {
  const throttle = new LoginThrottle({ now: () => 0 });
  for (let i = 0; i < 5; i++) throttle.fail(["k"]);
  assert.equal(throttle.retryAfter(["k"]), 0);
});

Deno.test("LoginThrottle doubles the wait with each further failure, up to the cap", () => {
  const now = 0;
  const throttle = new LoginThrottle({ now: () => now });
  for (let i = 0; i < 6; i++) throttle.fail(["k"]);
  assert.equal(throttle.retryAfter(["k"]), 1000);
  throttle.fail(["k"]);
  assert.equal(throttle.retryAfter(["k"]), 2000);
  for (let i = 0; i < 30; i++) throttle.fail(["k"]);
  assert.equal(throttle.retryAfter(["k"]), LOGIN_MAX_DELAY_MS);
});

Deno.test("LoginThrottle waits for the slowest of several keys and forgets after a success", () => {
  const throttle = new LoginThrottle({ now: () => 0 });
  for (let i = 0; i < 7; i++) throttle.fail(["user:ann"]);
  assert.equal(throttle.retryAfter(["user:ann", "addr:1"]), 2000);
  assert.equal(throttle.retryAfter(["user:bob", "addr:1"]), 0);
  throttle.succeed(["user:ann"]);
  assert.equal(throttle.retryAfter(["user:ann"]), 0);
});
