import assert from "node:assert/strict";
import { CodedError } from "../../lib/common/coded_error.ts";

Deno.test("a coded error keeps its code, message, cause and subclass name", () => {
  class StoreError extends CodedError<"LOCKED"> {}
  const cause = new Error("database is locked");
  const error = new StoreError("LOCKED", "Cannot write: the database is locked", { cause });
  assert.equal(error.code, "LOCKED");
  assert.equal(error.name, "StoreError");
  assert.equal(error.message, "Cannot write: the database is locked");
  assert.equal(error.cause, cause);
  assert.ok(error instanceof Error);
});
