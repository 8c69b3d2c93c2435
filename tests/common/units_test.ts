import assert from "node:assert/strict";
import fc from "fast-check";
import * as cli from "../../lib/cli/format.ts";
import { formatBytes, formatCount, formatRate, parseRate } from "../../lib/common/mod.ts";
import * as dashboard from "../../lib/dashboard/format.ts";
import { parseRate as peerParseRate } from "../../lib/peer/mod.ts";

Deno.test("the command line, the dashboard and the peer share one formatter and one parser", () => {
  assert.equal(cli.formatBytes, formatBytes);
  assert.equal(dashboard.formatBytes, formatBytes);
  assert.equal(cli.formatCount, formatCount);
  assert.equal(dashboard.formatCount, formatCount);
  assert.equal(dashboard.formatRate, formatRate);
  assert.equal(peerParseRate, parseRate);
});

Deno.test("formatBytes() keeps three significant digits and drops trailing zeros", () => {
  const KiB = 1024;
  assert.deepEqual(
    [0, 12, 1023, KiB, 1536, 10.5 * KiB ** 2, 123.4 * KiB ** 3, 1010 * KiB, 2 * KiB ** 5].map(
      formatBytes,
    ),
    ["0 B", "12 B", "1023 B", "1 KiB", "1.5 KiB", "10.5 MiB", "123 GiB", "1010 KiB", "2 PiB"],
  );
});

Deno.test("formatBytes() moves to the next unit when rounding reaches 1024", () => {
  assert.equal(formatBytes(1023.7), "1 KiB");
  assert.equal(formatBytes(1024 * 1024 - 1), "1 MiB");
  assert.equal(formatBytes(1023.4 * 1024), "1023 KiB");
});

Deno.test("formatBytes() never writes an exponent, nor more than three significant digits below 1000", () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 2 ** 60, noNaN: true }), (bytes) => {
      const [number, unit] = formatBytes(bytes).split(" ");
      assert.match(number!, /^\d{1,4}(\.\d{1,2})?$/, `${bytes}`);
      assert.ok(["B", "KiB", "MiB", "GiB", "TiB", "PiB"].includes(unit!));
      const digits = number!.replace(".", "").replace(/^0+/, "");
      assert.ok(digits.length <= 3 || /^10[0-2]\d$/.test(number!), `${bytes} as ${number}`);
    }),
  );
});

Deno.test("formatCount() rounds credited downloads to one decimal", () => {
  assert.deepEqual([8.255, 15.18, 0, 3, 0.04].map(formatCount), ["8.3", "15.2", "0", "3", "0"]);
});

Deno.test("parseRate() reads decimal suffixes as powers of 1000 and binary ones as powers of 1024", () => {
  assert.equal(parseRate("20MB/s"), 20_000_000);
  assert.equal(parseRate("20MiB/s"), 20 * 1024 * 1024);
  assert.equal(parseRate("512kib"), 512 * 1024);
  assert.equal(parseRate(" 1.5GB "), 1_500_000_000);
  assert.equal(parseRate("1000"), 1000);
  assert.throws(() => parseRate("20 MB per second"), /Cannot parse rate "20 MB per second"/);
  assert.throws(() => parseRate("0.0001B/s"), /must be above zero/);
});

Deno.test("a measured rate is shown in binary units: 20MB/s runs at 19.1 MiB/s", () => {
  assert.equal(formatRate(parseRate("20MB/s")), "19.1 MiB/s");
  assert.equal(formatRate(parseRate("20MiB/s")), "20 MiB/s");
  assert.equal(formatRate(null), "—");
});
