import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeTicket,
  exportPublicKey,
  fromBase64Url,
  MAX_TICKET_CHARS,
  newChallenge,
  newSigningKeys,
  ProtocolError,
  proveTicket,
  signTicket,
  TicketError,
  type TicketPayload,
  toBase64Url,
  verifyTicket,
} from "../../lib/protocol/mod.ts";

const RUNS = 200;

const tracker = await newSigningKeys();
const holder = await newSigningKeys();
const holderKey = await exportPublicKey(holder.publicKey);

const username = fc.stringMatching(/^[A-Za-z0-9_.-]{1,32}$/).filter((n) => n !== "." && n !== "..");
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const key43 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toBase64Url);
const payload: fc.Arbitrary<TicketPayload> = fc.record({
  user: username,
  version: hex64,
  key: key43,
  expiresAt: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
});

/** Runs `fn`; anything it throws must be a ProtocolError or a TicketError. */
async function onlyTicketErrors(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (error) {
    assert.ok(
      error instanceof ProtocolError || error instanceof TicketError,
      `unexpected ${error instanceof Error ? error.name : typeof error}: ${error}`,
    );
    return false;
  }
}

async function validTicket(expiresAt = Date.now() + 60_000): Promise<string> {
  return await signTicket(
    { user: "ann", version: "ab".repeat(32), key: holderKey, expiresAt },
    tracker.privateKey,
  );
}

Deno.test("signTicket() and decodeTicket() round-trip every valid payload within MAX_TICKET_CHARS", async () => {
  await fc.assert(
    fc.asyncProperty(payload, async (p) => {
      const ticket = await signTicket(p, tracker.privateKey);
      assert.ok(ticket.length <= MAX_TICKET_CHARS, `${ticket.length} characters`);
      assert.deepEqual(decodeTicket(ticket).payload, { ...p });
    }),
    { numRuns: RUNS },
  );
});

Deno.test("decodeTicket() throws nothing but ProtocolError on arbitrary text", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 700 }),
        fc.tuple(fc.base64String(), fc.base64String()).map(([a, b]) => `${a}.${b}`),
        fc.tuple(fc.string(), fc.string()).map(([a, b]) =>
          `${toBase64Url(new TextEncoder().encode(a))}.${b}`
        ),
      ),
      (text) => {
        try {
          decodeTicket(text);
        } catch (error) {
          assert.ok(error instanceof ProtocolError, String(error));
        }
      },
    ),
    { numRuns: RUNS * 5 },
  );
});

Deno.test("decodeTicket() refuses a ticket longer than MAX_TICKET_CHARS", () => {
  const head = toBase64Url(new TextEncoder().encode("x".repeat(400)));
  assert.throws(() => decodeTicket(`${head}.${"A".repeat(86)}`), ProtocolError);
});

Deno.test("verifyTicket() refuses a valid ticket with any one character changed", async () => {
  const ticket = await validTicket();
  const challenge = newChallenge();
  const proof = await proveTicket(ticket, challenge, holder.privateKey);
  const check = { trackerKey: tracker.publicKey, challenge, proof, now: Date.now() };
  assert.equal((await verifyTicket(ticket, check)).user, "ann");
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
  await fc.assert(
    fc.asyncProperty(
      fc.nat({ max: ticket.length - 1 }),
      fc.constantFrom(...alphabet),
      async (at, char) => {
        fc.pre(ticket[at] !== char);
        const changed = ticket.slice(0, at) + char + ticket.slice(at + 1);
        assert.equal(await onlyTicketErrors(() => verifyTicket(changed, check)), false);
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("verifyTicket() refuses an expired ticket, another signer, another challenge and another holder's proof", async () => {
  const challenge = newChallenge();
  const now = Date.now();
  const prove = (ticket: string, key = holder.privateKey, c = challenge) =>
    proveTicket(ticket, c, key);
  const refused = async (ticket: string, proof: string, why: RegExp) => {
    await assert.rejects(
      verifyTicket(ticket, { trackerKey: tracker.publicKey, challenge, proof, now }),
      (error) => error instanceof TicketError && why.test(error.message),
    );
  };
  const expired = await validTicket(now);
  await refused(expired, await prove(expired), /expired/);
  const forger = await newSigningKeys();
  const forged = await signTicket(decodeTicket(await validTicket()).payload, forger.privateKey);
  await refused(forged, await prove(forged), /not signed by this peer's tracker/);
  const ticket = await validTicket();
  await refused(ticket, await prove(ticket, holder.privateKey, newChallenge()), /proof/);
  const other = await newSigningKeys();
  await refused(ticket, await prove(ticket, other.privateKey), /proof/);
});

Deno.test("fromBase64Url() accepts only the canonical unpadded spelling of the given length", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
      assert.deepEqual(fromBase64Url(toBase64Url(bytes), bytes.length), bytes);
      assert.throws(() => fromBase64Url(toBase64Url(bytes), bytes.length + 1), ProtocolError);
      assert.throws(() => fromBase64Url(`${toBase64Url(bytes)}=`, bytes.length), ProtocolError);
    }),
    { numRuns: RUNS },
  );
});
