import assert from "node:assert/strict";
import {
  rangeVerified,
  seedHave,
  SeedLedger,
  SeedView,
  type SwarmFile,
  UploadSlots,
} from "../../lib/peer/mod.ts";

function file(have: number[]): SwarmFile {
  return {
    name: "a.bin",
    id: "a".repeat(64),
    sha256: "b".repeat(64),
    size: have.length * 10 - 5,
    chunkSize: 10,
    have: Uint8Array.from(have),
    readAt: () => null,
  };
}

Deno.test("rangeVerified() allows a range only when every chunk it touches is verified", () => {
  const f = file([1, 0, 1]);
  assert.ok(rangeVerified(f, 0, 10));
  assert.ok(!rangeVerified(f, 5, 10)); // touches chunk 1
  assert.ok(rangeVerified(f, 20, 5)); // the short last chunk
  assert.ok(!rangeVerified(f, 20, 6)); // past the end
  assert.ok(!rangeVerified(f, -1, 1));
});

Deno.test("SeedLedger advertises the least-sent chunks not yet sent on the connection", () => {
  const ledger = new SeedLedger();
  const id = "c".repeat(64);
  const none = new Uint8Array(4);
  assert.deepEqual(ledger.advertise(id, 4, none), {
    have: Uint8Array.of(1, 1, 1, 1),
    complete: true,
  });
  ledger.sent(id, 4, 0);
  ledger.sent(id, 4, 1);
  // Another connection is offered the chunks that never went out.
  assert.deepEqual(ledger.advertise(id, 4, none), {
    have: Uint8Array.of(0, 0, 1, 1),
    complete: false,
  });
  // The connection that got 0 and 1 is offered the rest, never 0 or 1 again.
  assert.deepEqual(
    ledger.advertise(id, 4, Uint8Array.of(1, 1, 0, 0)).have,
    Uint8Array.of(0, 0, 1, 1),
  );
  ledger.sent(id, 4, 2);
  ledger.sent(id, 4, 3);
  // Once every chunk went out once, second copies are offered.
  assert.deepEqual(ledger.advertise(id, 4, none).have, Uint8Array.of(1, 1, 1, 1));
});

Deno.test("UploadSlots serves at most its number of accounts, puts those that gave most first, and rotates", () => {
  let now = 0;
  const credit = new Map([["giver", 100]]);
  const slots = new UploadSlots({
    max: 1,
    rotateMs: 5_000,
    now: () => now,
    credit: (u) => credit.get(u) ?? 0,
  });
  assert.ok(slots.admit("first"));
  assert.ok(!slots.admit("taker"));
  now += 10;
  assert.ok(!slots.admit("giver"));
  // While it keeps asking, "first" keeps its slot until the rotation time...
  for (now = 200; now < 5_000; now += 200) assert.ok(slots.admit("first"));
  // ...then gives it up, and the one that uploaded to us is offered it before the other.
  now = 5_100;
  assert.ok(!slots.admit("first"));
  assert.ok(!slots.admit("taker"));
  assert.ok(slots.admit("giver"));
  assert.equal(slots.serving, 1);
});

Deno.test("UploadSlots keeps the slot of a slow downloader while its chunk is being sent, and frees it once idle", () => {
  let now = 0;
  const slots = new UploadSlots({ max: 1, now: () => now });
  assert.ok(slots.admit("slow"));
  // A 1 MiB chunk at a quarter of 1 MB/s: four seconds of sending, no new request meanwhile.
  for (now = 500; now <= 4_000; now += 500) assert.ok(!slots.admit("other"));
  slots.done("slow");
  now += 100;
  assert.ok(!slots.admit("other"), "just sent: not idle yet");
  now += 1_000;
  assert.ok(slots.admit("other"), "idle after its send: the slot is free");
  assert.equal(slots.serving, 1);
});

Deno.test("UploadSlots frees the slot of a downloader whose connection ended, and offers it to one still asking", () => {
  const now = 0;
  const slots = new UploadSlots({ max: 1, now: () => now });
  assert.ok(slots.admit("done"));
  slots.done("done");
  assert.ok(!slots.admit("waiting"));
  assert.ok(!slots.admit("gone-too"));
  slots.leave("gone-too"); // it waited, then got the file elsewhere and hung up
  slots.leave("done"); // it got its chunk and hung up: no idle wait for its slot
  assert.ok(slots.admit("waiting"));
  assert.equal(slots.serving, 1);
});

Deno.test("seedHave widens the answer one count level per ask without a read, up to the whole file, and narrows after a read", () => {
  const ledger = new SeedLedger();
  const id = "d".repeat(64);
  for (const [index, times] of [[1, 1], [2, 2], [3, 2]]) {
    for (let n = 0; n < times!; n++) ledger.sent(id, 5, index!);
  }
  const view = new SeedView(5);
  view.sent(4); // sent on this connection once (lost, say, when the source was rotated out)
  const ask = () => [...seedHave(ledger, id, view).have];
  assert.deepEqual(ask(), [1, 0, 0, 0, 0]); // the least sent
  assert.deepEqual(ask(), [1, 1, 0, 0, 0]); // nothing read: one level wider
  assert.deepEqual(ask(), [1, 1, 1, 1, 0]);
  const whole = seedHave(ledger, id, view); // every level: the whole file, chunk 4 included
  assert.deepEqual([...whole.have], [1, 1, 1, 1, 1]);
  assert.equal(whole.complete, true);
  view.sent(0);
  ledger.sent(id, 5, 0);
  assert.deepEqual(ask(), [0, 1, 0, 0, 0], "a read narrows it again");
});
