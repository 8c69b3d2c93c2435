import assert from "node:assert/strict";
import { CliError } from "../../lib/cli/cli_error.ts";
import { versionOption, wholeNumber, wholeNumberFlag } from "../../lib/cli/flag_values.ts";

const usageError = (pattern: RegExp) => (error: unknown) =>
  error instanceof CliError && error.exitCode === 2 && pattern.test(error.message);

Deno.test("wholeNumber() accepts both bounds and refuses one past each", () => {
  assert.equal(wholeNumber("0", 0, 65535), 0);
  assert.equal(wholeNumber("65535", 0, 65535), 65535);
  assert.equal(wholeNumber("-1", 0, 65535), undefined);
  assert.equal(wholeNumber("65536", 0, 65535), undefined);
  assert.equal(wholeNumber("1", 1), 1);
  assert.equal(wholeNumber("0", 1), undefined);
});

Deno.test("wholeNumber() refuses fractions, words, empty text and numbers too big to be exact", () => {
  for (const text of ["1.5", "ten", "", "NaN", "Infinity", "9007199254740993"]) {
    assert.equal(wholeNumber(text, 0), undefined, text);
  }
});

Deno.test("wholeNumberFlag() is a usage error naming the flag, the value and the range", () => {
  assert.equal(wholeNumberFlag("64", "--sources", 1, 64), 64);
  assert.throws(
    () => wholeNumberFlag("65", "--sources", 1, 64),
    usageError(/^Cannot use --sources "65": expected a whole number from 1 to 64$/),
  );
  assert.throws(
    () => wholeNumberFlag("0", "--ticket-window-ms", 1),
    usageError(/^Cannot use --ticket-window-ms "0": expected a positive whole number$/),
  );
  assert.throws(
    () => wholeNumberFlag("-1", "--port", 0),
    usageError(/expected a whole number of at least 0$/),
  );
});

Deno.test("versionOption() takes 4 to 64 hex digits in any case and refuses the rest", () => {
  assert.deepEqual(versionOption("ABCD"), { version: "abcd" });
  assert.deepEqual(versionOption("a".repeat(64)), { version: "a".repeat(64) });
  assert.throws(() => versionOption("abc"), usageError(/4-64 hex digits/));
  assert.throws(() => versionOption("a".repeat(65)), usageError(/4-64 hex digits/));
  assert.deepEqual(versionOption(true), {});
});
