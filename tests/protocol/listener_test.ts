import assert from "node:assert/strict";
import { type Conn, type Listener, serveListener } from "../../lib/protocol/mod.ts";

/**
 * A listener that hands out connections from the given remote addresses: this machine cannot
 * take several IPv6 addresses of one /64 without changing its network, so their arrival is
 * simulated; the accept loop and its caps are the real ones.
 */
function fakeListener(): { listener: Listener; arrive(hostname: string): Conn } {
  const waiting: PromiseWithResolvers<Conn>[] = [];
  const queued: Conn[] = [];
  let closed = false;
  const listener = {
    addr: { transport: "tcp", hostname: "::1", port: 1 },
    accept(): Promise<Conn> {
      if (closed) return Promise.reject(new Deno.errors.BadResource("closed"));
      const next = queued.shift();
      if (next) return Promise.resolve(next);
      const wait = Promise.withResolvers<Conn>();
      waiting.push(wait);
      return wait.promise;
    },
    close() {
      closed = true;
      for (const wait of waiting.splice(0)) wait.reject(new Deno.errors.BadResource("closed"));
    },
  } as unknown as Listener;
  const arrive = (hostname: string): Conn => {
    const conn = {
      remoteAddr: { transport: "tcp", hostname, port: 40000 },
      write: () => Promise.resolve(0),
      close() {},
    } as unknown as Conn;
    const take = waiting.shift();
    if (take) take.resolve(conn);
    else queued.push(conn);
    return conn;
  };
  return { listener, arrive };
}

Deno.test("serveListener() counts every address of one IPv6 /64 as one address", async () => {
  const { listener, arrive } = fakeListener();
  const { promise: release, resolve: releaseAll } = Promise.withResolvers<void>();
  const served: string[] = [];
  const refused: string[] = [];
  const server = serveListener(listener, async (conn) => {
    served.push(conn.remoteAddr.hostname);
    await release;
  }, {
    maxConnections: 100,
    maxPerAddress: 2,
    refuse: (conn, message) => {
      refused.push(`${conn.remoteAddr.hostname}: ${message}`);
      conn.close();
    },
  });
  try {
    for (
      const host of [
        "2001:db8:1:2::1",
        "2001:db8:1:2::2",
        "2001:db8:1:2:ffff::3",
        "2001:db8:1:3::1",
      ]
    ) {
      arrive(host);
    }
    const deadline = Date.now() + 5_000;
    while (served.length + refused.length < 4 && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 5));
    }
    assert.deepEqual(served, ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:3::1"]);
    assert.equal(refused.length, 1);
    assert.match(refused[0]!, /^2001:db8:1:2:ffff::3: .*2 connections from 2001:db8:1:2::\/64/);
  } finally {
    releaseAll();
    await server.close();
  }
});
