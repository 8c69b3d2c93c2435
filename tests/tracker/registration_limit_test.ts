import assert from "node:assert/strict";
import { RegistrationLimit } from "../../lib/tracker/mod.ts";
import { REGISTRATION_REFILL_MS, REGISTRATIONS_PER_ADDRESS } from "../../lib/protocol/mod.ts";

Deno.test("RegistrationLimit allows REGISTRATIONS_PER_ADDRESS at once, then one per REGISTRATION_REFILL_MS", async () => {
  let now = 0;
  const limit = new RegistrationLimit({ now: () => now });
  for (let i = 0; i < REGISTRATIONS_PER_ADDRESS; i++) {
    assert.equal(await limit.take("192.0.2.1"), 0);
  }
  assert.equal(await limit.take("192.0.2.1"), REGISTRATION_REFILL_MS);
  assert.equal(await limit.take("192.0.2.2"), 0);
  now += REGISTRATION_REFILL_MS / 2;
  assert.equal(await limit.take("192.0.2.1"), REGISTRATION_REFILL_MS / 2);
  now += REGISTRATION_REFILL_MS / 2;
  assert.equal(await limit.take("192.0.2.1"), 0);
  assert.equal(await limit.take("192.0.2.1"), REGISTRATION_REFILL_MS);
});

Deno.test("RegistrationLimit counts an IPv6 /64 as one address", async () => {
  const limit = new RegistrationLimit({ now: () => 0, perAddress: 1 });
  assert.equal(await limit.take("2001:db8:0:1::1"), 0);
  assert.ok((await limit.take("2001:db8:0:1::2")) > 0);
  assert.equal(await limit.take("2001:db8:0:2::1"), 0);
});
