import assert from "node:assert/strict";
import { GroupCap } from "../../lib/protocol/mod.ts";

Deno.test("GroupCap refuses one more of a group at its cap and lets other groups in", () => {
  const cap = new GroupCap(2);
  assert.ok(cap.enter("ann"));
  assert.ok(cap.enter("ann"));
  assert.ok(!cap.enter("ann"));
  assert.ok(cap.enter("bo"));
  assert.equal(cap.of("ann"), 2);
  assert.equal(cap.total, 3);
});

Deno.test("GroupCap refuses past its total cap whatever the group", () => {
  const cap = new GroupCap(10, { maxTotal: 2 });
  assert.ok(cap.enter("a") && cap.enter("b"));
  assert.ok(!cap.enter("c"));
  cap.leave("a");
  assert.ok(cap.enter("c"));
});

Deno.test("GroupCap leave() never counts below zero", () => {
  const cap = new GroupCap(1);
  cap.leave("ghost");
  assert.equal(cap.total, 0);
  assert.ok(cap.enter("ghost"));
  assert.ok(!cap.enter("ghost"));
});
