import assert from "node:assert/strict";
import fc from "fast-check";
import {
  announceReply,
  canonicalAddress,
  detailsReply,
  isDnsName,
  isHost,
  isIPv4,
  isIPv6,
  meReply,
  parseIPv6,
  parseTrackerRequest,
  peerReply,
  ProtocolError,
} from "../../lib/protocol/mod.ts";

const TOKEN = "abcDEF123_-";
const HASH = "a".repeat(64);

function announce(host: unknown): Record<string, unknown> {
  return { type: "announce", token: TOKEN, host, port: 7071, replace: true, files: [] };
}

function badMessage(path: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof ProtocolError, `expected ProtocolError, got ${error}`);
    assert.equal(error.code, "BAD_MESSAGE");
    assert.ok(error.message.includes(path), error.message);
    return true;
  };
}

Deno.test("isHost() accepts IPv4 addresses, IPv6 addresses and DNS names", () => {
  for (
    const host of [
      "127.0.0.1",
      "10.1.2.3",
      "255.255.255.255",
      "0.0.0.0",
      "::1",
      "::",
      "2001:db8::1",
      "2001:DB8:0:0:0:0:0:1",
      "::ffff:127.0.0.1",
      "fe80::1:2:3:4",
      "localhost",
      "peer-1.lab.example",
      "a",
      "xn--bcher-kva.example",
      "a1.b2.c3",
      `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`, // 253
    ]
  ) {
    assert.ok(isHost(host), host);
  }
});

Deno.test("isHost() refuses anything that is not an address or a DNS name", () => {
  for (
    const host of [
      "",
      "evil\u001b[2J.example",
      "\u001b]0;owned\u0007",
      "host\nname",
      "host name",
      "host:7070",
      "[::1]",
      "fe80::1%eth0",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "12345::1",
      "256.1.1.1",
      "1.2.3",
      "01.2.3.4",
      "1.2.3.4.",
      "-oProxyCommand",
      "host-.example",
      "a..b",
      ".example",
      "under_score.example",
      "caf\u00e9.example",
      "evil\u202eexe",
      "a".repeat(64),
      `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(62)}`, // 254
      "http://example.com",
      "a/b",
    ]
  ) {
    assert.ok(!isHost(host), JSON.stringify(host));
  }
});

Deno.test("isHost() accepts every generated IPv4 address, IPv6 address and domain name", () => {
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()), (host) => isHost(host)),
    { numRuns: 500 },
  );
});

Deno.test("isHost() refuses every string with a character other than letters, digits, '.', ':' and '-'", () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 20 }),
      fc.string({ minLength: 1, maxLength: 1, unit: "binary" }).filter((c) =>
        !/[A-Za-z0-9.:-]/.test(c)
      ),
      fc.string({ maxLength: 20 }),
      (before, bad, after) => !isHost(`${before}${bad}${after}`),
    ),
    { numRuns: 500 },
  );
});

Deno.test("isIPv4(), isIPv6() and isDnsName() tell the three kinds apart", () => {
  assert.ok(isIPv4("10.1.2.3") && !isIPv6("10.1.2.3"));
  assert.ok(isIPv6("::1") && !isIPv4("::1") && !isDnsName("::1"));
  assert.ok(isDnsName("tracker.lab") && !isIPv4("tracker.lab"));
  assert.ok(!isDnsName("1.2.3.256"), "an all-digit last label is not a name");
});

Deno.test("parseIPv6() expands '::' and an embedded IPv4 part into eight groups", () => {
  assert.deepEqual(parseIPv6("2001:db8::1"), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(parseIPv6("::ffff:10.1.2.3"), [0, 0, 0, 0, 0, 0xffff, 0x0a01, 0x0203]);
  assert.deepEqual(parseIPv6("1:2:3:4:5:6:7:8"), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(parseIPv6("1:2:3:4:5:6:7:8::"), undefined, ":: must stand for at least one group");
  assert.equal(parseIPv6("1:2:3:4:5:6:7"), undefined);
  assert.equal(parseIPv6("::1.2.3.4:5"), undefined);
});

Deno.test("canonicalAddress() gives an IPv4-mapped IPv6 address in its IPv4 form", () => {
  assert.equal(canonicalAddress("::ffff:127.0.0.1"), "127.0.0.1");
  assert.equal(canonicalAddress("::FFFF:10.1.2.3"), "10.1.2.3");
  assert.equal(canonicalAddress("0:0:0:0:0:ffff:a01:203"), "10.1.2.3");
  assert.equal(canonicalAddress("127.0.0.1"), "127.0.0.1");
});

Deno.test("canonicalAddress() writes IPv6 compressed in lower case and drops a zone id", () => {
  assert.equal(canonicalAddress("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  assert.equal(canonicalAddress("fe80::1%eth0"), "fe80::1");
  assert.equal(canonicalAddress("::1"), "::1");
  assert.equal(canonicalAddress("1:0:0:2:0:0:0:3"), "1:0:0:2::3");
  assert.equal(canonicalAddress("1:2:3:4:5:6:7:8"), "1:2:3:4:5:6:7:8");
  assert.equal(canonicalAddress("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7", "a single zero stays");
  assert.ok(isHost(canonicalAddress("fe80::1%eth0")));
});

Deno.test("the announce schema refuses a host with an escape sequence", () => {
  assert.throws(
    () => parseTrackerRequest(announce("evil\u001b]0;owned\u0007.example")),
    badMessage("announce.host"),
  );
  assert.throws(() => parseTrackerRequest(announce("10.1.2.3:80")), badMessage("announce.host"));
  assert.throws(() => parseTrackerRequest(announce("a".repeat(254))), badMessage("announce.host"));
  const ok = parseTrackerRequest(announce("10.1.2.3"));
  assert.ok(ok.type === "announce" && ok.host === "10.1.2.3");
});

Deno.test("replies that carry a host refuse one that is not an address or a DNS name", () => {
  const bad = "\u001b[2Jx";
  const holder = {
    user: "ann",
    host: bad,
    port: 1,
    online: true,
    lastSeen: 0,
    downloads: 0,
    failures: 0,
  };
  assert.throws(
    () =>
      detailsReply({
        type: "details",
        name: "a.txt",
        size: 1,
        sha256: HASH,
        id: HASH,
        chunkSize: 1,
        chunkHashes: [HASH],
        peers: [holder],
        versions: [],
      }, "details"),
    badMessage("details.peers[0].host"),
  );
  assert.throws(
    () => peerReply({ type: "peer", user: "ann", host: bad, port: 1, online: true }, "peer"),
    badMessage("peer.host"),
  );
  assert.throws(
    () =>
      meReply({
        type: "me",
        user: "ann",
        sessions: 1,
        peer: { host: bad, port: 1, online: true },
        files: 0,
        bytes: 0,
        downloads: 0,
        failures: 0,
      }, "me"),
    badMessage("me.peer.host"),
  );
  assert.throws(
    () => announceReply({ type: "ok", host: bad, port: 1 }, "ok"),
    badMessage("ok.host"),
  );
  assert.deepEqual(
    announceReply({ type: "ok" }, "ok"),
    { type: "ok" },
    "older trackers say no host",
  );
});
