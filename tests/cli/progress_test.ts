import assert from "node:assert/strict";
import { ProgressLine } from "../../lib/cli/progress.ts";

const MiB = 1024 * 1024;

/** A fake terminal that keeps what was drawn, and a clock the test moves. */
function terminal() {
  const drawn: string[] = [];
  const decoder = new TextDecoder();
  let now = 0;
  const line = new ProgressLine({
    stream: {
      isTerminal: () => true,
      writeSync: (bytes) => {
        drawn.push(decoder.decode(bytes));
        return bytes.length;
      },
    },
    now: () => now,
    columns: 200,
  });
  return { line, drawn, tick: (ms: number) => now += ms };
}

Deno.test("ProgressLine counts only bytes fetched in this run, not re-verified ones", () => {
  const { line, drawn, tick } = terminal();
  const base = { label: "big.bin", totalBytes: 1000 * MiB, sources: 2 };
  // 900 MiB re-verified from an earlier run, quickly.
  for (let done = 0; done <= 900 * MiB; done += 100 * MiB) {
    line.update({ ...base, phase: "verify", doneBytes: done }, true);
    tick(10);
  }
  // Then 10 MiB fetched per second.
  line.update({ ...base, phase: "fetch", doneBytes: 900 * MiB }, true);
  tick(1000);
  line.update({ ...base, phase: "fetch", doneBytes: 910 * MiB }, true);
  const last = drawn.at(-1)!;
  assert.match(last, / 10 MiB\/s /);
  assert.match(last, /ETA 9\.0 s/);
});
