import assert from "node:assert/strict";
import { newSigningKeys, signTicket } from "../../lib/protocol/mod.ts";
import { TICKET_RENEW_MARGIN_MS, TicketRenewal } from "../../lib/peer/ticket_renewal.ts";

const tracker = await newSigningKeys();
const NOW = 1_000_000_000_000;

function ticket(version: string, expiresAt: number): Promise<string> {
  return signTicket(
    { user: "ann", version: version.repeat(64), key: "A".repeat(43), expiresAt },
    tracker.privateKey,
  );
}

Deno.test("TicketRenewal.current() shows a ticket far from expiry without asking for another", async () => {
  const first = await ticket("a", NOW + TICKET_RENEW_MARGIN_MS + 1);
  let asked = 0;
  const renewal = new TicketRenewal(first, {
    now: () => NOW,
    renew: () => Promise.resolve((asked++, undefined)),
  });
  assert.equal(await renewal.current(), first);
  assert.equal(asked, 0);
});

Deno.test("TicketRenewal.current() renews a ticket about to expire, once for sources that connect together", async () => {
  const first = await ticket("a", NOW + TICKET_RENEW_MARGIN_MS);
  const fresh = await ticket("a", NOW + 10 * TICKET_RENEW_MARGIN_MS);
  let asked = 0;
  const renewal = new TicketRenewal(first, {
    now: () => NOW,
    renew: () => Promise.resolve((asked++, fresh)),
  });
  const shown = await Promise.all([renewal.current(), renewal.current(), renewal.current()]);
  assert.deepEqual(shown, [fresh, fresh, fresh]);
  assert.equal(asked, 1);
  assert.equal(await renewal.current(), fresh); // the fresh one is far from expiry
  assert.equal(asked, 1);
});

Deno.test("TicketRenewal.current() keeps the ticket in hand when the renewal fails or is for another version", async () => {
  const first = await ticket("a", NOW + 1_000);
  const other = await ticket("b", NOW + 10 * TICKET_RENEW_MARGIN_MS);
  const wrongVersion = new TicketRenewal(first, {
    now: () => NOW,
    renew: () => Promise.resolve(other),
  });
  assert.equal(await wrongVersion.current(), first);
  const failing = new TicketRenewal(first, {
    now: () => NOW,
    renew: () => Promise.reject(new Error("tracker unreachable")),
  });
  assert.equal(await failing.current(), first);
  const none = new TicketRenewal(first, {
    now: () => NOW,
    renew: () => Promise.resolve(undefined),
  });
  assert.equal(await none.current(), first);
});
