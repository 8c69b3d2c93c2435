// The login back-off and the registration buckets as the tracker runs them: kept in KV (the
// throttles role of the store), shared by every tracker on one KV file.
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import {
  kvFailureStore,
  KvTrackerStore,
  LoginThrottle,
  RegistrationLimit,
} from "../../lib/tracker/mod.ts";
import { LOGIN_FREE_FAILURES, LOGIN_FREE_FAILURES_PER_ADDRESS } from "../../lib/protocol/mod.ts";

const GUESSER = "192.0.2.66";

/** Runs `body` with two stores (two trackers) on one fresh KV file. */
async function twoTrackers(
  body: (a: KvTrackerStore, b: KvTrackerStore) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "p2pfs-throttle-" });
  try {
    const path = join(dir, "tracker.kv");
    await using a = await KvTrackerStore.open(path);
    await using b = await KvTrackerStore.open(path);
    await body(a, b);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the KV registration bucket allows perAddress at once, then one per refillMs", async () => {
  await using store = await KvTrackerStore.open(":memory:");
  let now = 1_000;
  const limit = new RegistrationLimit({
    now: () => now,
    perAddress: 3,
    refillMs: 1000,
    store: store.throttles,
  });
  for (let i = 0; i < 3; i++) assert.equal(await limit.take("192.0.2.1"), 0);
  assert.equal(await limit.take("192.0.2.1"), 1000);
  assert.equal(await limit.take("192.0.2.2"), 0);
  now += 250;
  assert.equal(await limit.take("192.0.2.1"), 750);
  now += 750;
  assert.equal(await limit.take("192.0.2.1"), 0);
  assert.equal(await limit.take("192.0.2.1"), 1000);
  now += 10_000; // full again, and never fuller than perAddress
  for (let i = 0; i < 3; i++) assert.equal(await limit.take("192.0.2.1"), 0);
  assert.equal(await limit.take("192.0.2.1"), 1000);
});

Deno.test("the KV registration bucket counts an IPv6 /64 as one address", async () => {
  await using store = await KvTrackerStore.open(":memory:");
  const limit = new RegistrationLimit({ now: () => 0, perAddress: 1, store: store.throttles });
  assert.equal(await limit.take("2001:db8:0:1::1"), 0);
  assert.ok((await limit.take("2001:db8:0:1::2")) > 0);
  assert.equal(await limit.take("2001:db8:0:2::1"), 0);
});

Deno.test("two trackers on one KV file share an address's registration bucket", async () => {
  await twoTrackers(async (a, b) => {
    let now = 5_000;
    const options = { now: () => now, perAddress: 4, refillMs: 1000 };
    const onA = new RegistrationLimit({ ...options, store: a.throttles });
    const onB = new RegistrationLimit({ ...options, store: b.throttles });
    assert.equal(await onA.take(GUESSER), 0);
    assert.equal(await onB.take(GUESSER), 0);
    assert.equal(await onA.take(GUESSER), 0);
    assert.equal(await onB.take(GUESSER), 0);
    assert.equal(await onA.take(GUESSER), 1000);
    assert.equal(await onB.take(GUESSER), 1000);
    now += 1000;
    assert.equal(await onB.take(GUESSER), 0);
    assert.equal(await onA.take(GUESSER), 1000);
  });
});

Deno.test("two trackers on one KV file count a guesser's failed logins together", async () => {
  await twoTrackers(async (a, b) => {
    const onA = new LoginThrottle({ now: () => 0, failures: kvFailureStore(a.throttles) });
    const onB = new LoginThrottle({ now: () => 0, failures: kvFailureStore(b.throttles) });
    for (let i = 0; i < LOGIN_FREE_FAILURES; i++) await (i % 2 ? onA : onB).fail("carol", GUESSER);
    assert.equal(await onA.retryAfter("carol", GUESSER), 0);
    await onB.fail("carol", GUESSER);
    assert.equal(await onA.retryAfter("carol", GUESSER), 1000);
    assert.equal(await onB.retryAfter("carol", GUESSER), 1000);
    assert.equal(await onA.retryAfter("carol", "192.0.2.1"), 0);
    // A success on one tracker clears the name's failures from that address on both.
    await onA.succeed("carol", GUESSER);
    assert.equal(await onB.retryAfter("carol", GUESSER), 0);
  });
});

Deno.test("failed logins racing on two trackers on one KV file each count exactly once", async () => {
  await twoTrackers(async (a, b) => {
    const onA = new LoginThrottle({ now: () => 0, failures: kvFailureStore(a.throttles) });
    const onB = new LoginThrottle({ now: () => 0, failures: kvFailureStore(b.throttles) });
    // Every failure from one address updates the address's key: 20 read-modify-writes at once.
    const half = LOGIN_FREE_FAILURES_PER_ADDRESS / 2;
    await Promise.all(
      Array.from(
        { length: half },
        (_, i) => [onA.fail(`a${i}`, GUESSER), onB.fail(`b${i}`, GUESSER)],
      )
        .flat(),
    );
    const [times] = await a.throttles.loginFailures([`addr\u0000${GUESSER}`]);
    assert.equal(times?.length, LOGIN_FREE_FAILURES_PER_ADDRESS);
    assert.equal(await onA.retryAfter("fresh", GUESSER), 0);
    await onB.fail("one-more", GUESSER);
    assert.equal(await onA.retryAfter("fresh", GUESSER), 1000);
  });
});

Deno.test("the KV registration bucket and the in-memory one answer every sequence of takes alike", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 25 }),
      async (perAddress, gaps) => {
        await using store = await KvTrackerStore.open(":memory:");
        let now = 1_000_000;
        const options = { now: () => now, perAddress, refillMs: 1000 };
        const inMemory = new RegistrationLimit(options);
        const inKv = new RegistrationLimit({ ...options, store: store.throttles });
        for (const gap of gaps) {
          now += gap;
          assert.equal(await inKv.take(GUESSER), await inMemory.take(GUESSER));
        }
      },
    ),
    { numRuns: 60 },
  );
});
