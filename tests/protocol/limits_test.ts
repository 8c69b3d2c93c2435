import assert from "node:assert/strict";
import { join } from "node:path";
import * as limits from "../../lib/protocol/limits.ts";
import * as protocol from "../../lib/protocol/mod.ts";

const PROTOCOL_DIR = join(import.meta.dirname!, "../../lib/protocol");

/** Names that look like limits but are facts of a format, not limits a side enforces. */
const NOT_LIMITS = new Set(["FRAME_HEADER_BYTES"]);

/** defaults.ts holds the values a flag starts from (ports, heartbeat, ping timeout), not limits. */
const NOT_LIMIT_FILES = new Set(["limits.ts", "defaults.ts"]);

const LIMIT_NAME = /^export const ((?:MAX|MIN)_\w+|\w+_(?:MS|BYTES|CHARS|LENGTH))\b/gm;

Deno.test("every exported limit constant of lib/protocol is defined in limits.ts, which imports nothing", async () => {
  const elsewhere: string[] = [];
  for await (const entry of Deno.readDir(PROTOCOL_DIR)) {
    if (!entry.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(join(PROTOCOL_DIR, entry.name));
    if (entry.name === "limits.ts") {
      assert.doesNotMatch(text, /^(import|export .* from)/m, "limits.ts imports nothing");
      continue;
    }
    if (NOT_LIMIT_FILES.has(entry.name)) continue;
    for (const [, name] of text.matchAll(LIMIT_NAME)) {
      if (!NOT_LIMITS.has(name!)) elsewhere.push(`${entry.name}: ${name}`);
    }
  }
  assert.deepEqual(elsewhere, [], "limits defined outside limits.ts");
});

Deno.test("the protocol module exports every limit of limits.ts as the same value", () => {
  for (const [name, value] of Object.entries(limits)) {
    assert.equal((protocol as Record<string, unknown>)[name], value, name);
  }
});
