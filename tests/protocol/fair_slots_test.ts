import assert from "node:assert/strict";
import { FairSlots } from "../../lib/protocol/mod.ts";

Deno.test("FairSlots evicts the oldest holder of the address holding the most, not a lone newcomer", () => {
  const slots = new FairSlots(4);
  const closed: string[] = [];
  slots.take("10.0.0.1", () => closed.push("honest"));
  for (let i = 0; i < 40; i++) slots.take("10.0.0.9", () => closed.push(`flood ${i}`));
  assert.equal(slots.size, 4);
  assert.ok(!closed.includes("honest"), "the lone honest connection kept its slot");
  assert.deepEqual(closed.slice(0, 3), ["flood 0", "flood 1", "flood 2"]);
});

Deno.test("FairSlots evicts a newcomer's own oldest when its address holds the most", () => {
  const slots = new FairSlots(2);
  const closed: string[] = [];
  slots.take("a", () => closed.push("a1"));
  slots.take("b", () => closed.push("b1"));
  slots.take("b", () => closed.push("b2"));
  assert.deepEqual(closed, ["b1"]);
});

Deno.test("FairSlots release() gives the slot back once, even when called twice", () => {
  const slots = new FairSlots(1);
  const slot = slots.take("a", () => assert.fail("nobody is evicted"));
  slot.release();
  slot.release();
  assert.equal(slots.size, 0);
  slots.take("b", () => {});
  assert.equal(slots.size, 1);
});

Deno.test("FairSlots refuses a capacity below one", () => {
  assert.throws(() => new FairSlots(0), RangeError);
});
