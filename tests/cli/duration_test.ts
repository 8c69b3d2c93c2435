import assert from "node:assert/strict";
import { CliError } from "../../lib/cli/cli_error.ts";
import { USAGE_EXIT } from "../../lib/cli/command_spec.ts";
import { parseDuration } from "../../lib/cli/serving_options.ts";
import { MAX_INVITE_EXPIRY_MS } from "../../lib/protocol/mod.ts";

const DAY = 24 * 3600_000;

Deno.test("durations take ms, s, m, h and d, and a bare number is seconds", () => {
  assert.equal(parseDuration("250ms", "--seed-for"), 250);
  assert.equal(parseDuration("45", "--seed-for"), 45_000);
  assert.equal(parseDuration("10m", "--seed-for"), 600_000);
  assert.equal(parseDuration("2h", "--seed-for"), 2 * 3600_000);
  assert.equal(parseDuration("7d", "--seed-for"), 7 * DAY);
});

Deno.test("an invitation's --expires 7d, the example its help gives, is accepted up to a year", () => {
  assert.equal(parseDuration("7d", "--expires", MAX_INVITE_EXPIRY_MS), 7 * DAY);
  assert.equal(parseDuration("365d", "--expires", MAX_INVITE_EXPIRY_MS), MAX_INVITE_EXPIRY_MS);
  const tooLong = () => parseDuration("366d", "--expires", MAX_INVITE_EXPIRY_MS);
  assert.throws(
    tooLong,
    (error: unknown) =>
      error instanceof CliError && error.exitCode === USAGE_EXIT &&
      error.message ===
        'Cannot use --expires "366d": expected e.g. 30s, 10m, 2h or 7d (at most 365 days)',
  );
});

Deno.test("a duration past its bound or not a duration is a usage error", () => {
  for (const text of ["8d", "169h", "", "1.5h", "-1s", "10 m", "1w", "9".repeat(20)]) {
    assert.throws(
      () => parseDuration(text, "--seed-for"),
      (error: unknown) => error instanceof CliError && error.exitCode === USAGE_EXIT,
      text,
    );
  }
});
