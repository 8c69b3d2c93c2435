/**
 * The wire's limit here: the smallest Deno program that copies a file over a loopback socket into
 * another file (read/write loop, 1 MiB buffers). `deno run -A scripts/wire_copy.ts SRC DST`
 * prints the seconds the copy took.
 *
 * @module
 */
async function main(): Promise<void> {
  const [src, dst] = Deno.args;
  if (!src || !dst) throw new Error("usage: wire_copy.ts SRC DST");
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const started = performance.now();
  const sending = (async () => {
    using conn = await listener.accept();
    using file = await Deno.open(src);
    const buffer = new Uint8Array(1 << 20);
    for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
      let done = 0;
      while (done < n) done += await conn.write(buffer.subarray(done, n));
    }
  })();
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using out = await Deno.open(dst, { write: true, create: true, truncate: true });
  const buffer = new Uint8Array(1 << 20);
  for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
    let done = 0;
    while (done < n) done += await out.write(buffer.subarray(done, n));
  }
  await sending;
  console.log(((performance.now() - started) / 1000).toFixed(3));
}

if (import.meta.main) await main();
