import assert from "node:assert/strict";
import { TerminalLineReader } from "../../lib/cli/terminal_line_reader.ts";

/** A raw terminal that delivers `chunks` one read at a time, and keeps what was drawn. */
function fakeTerminal(chunks: string[]) {
  const encoder = new TextEncoder();
  const input = {
    setRaw: () => {},
    read: (buffer: Uint8Array) => {
      const chunk = chunks.shift();
      if (chunk === undefined) return Promise.resolve(null);
      const bytes = encoder.encode(chunk);
      buffer.set(bytes);
      return Promise.resolve(bytes.length);
    },
  } as unknown as typeof Deno.stdin;
  let drawn = "";
  const output = {
    writeSync: (bytes: Uint8Array) => {
      drawn += new TextDecoder().decode(bytes);
      return bytes.length;
    },
  };
  return { input, output, drawn: () => drawn };
}

Deno.test("Tab pressed again on an ambiguous word lists the choices once, not again and again", async () => {
  const terminal = fakeTerminal(["get n", "\t", "\t", "\t", "o", "\t", "\r"]);
  const reader = new TerminalLineReader({
    input: terminal.input,
    output: terminal.output,
    complete: () => Promise.resolve(["notes.txt", "news.md"]),
  });
  const line = await reader.read("> ");
  assert.equal(line, "get notes.txt ");
  const listings = terminal.drawn().match(/news\.md\s+notes\.txt/g)?.length ?? 0;
  assert.equal(listings, 1, terminal.drawn());
});
