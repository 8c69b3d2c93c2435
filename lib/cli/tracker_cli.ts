/**
 * `deno task tracker`: parse flags, start the tracker, print where it listens, stop on a signal.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startTracker } from "../tracker/mod.ts";
import { formatAddress } from "../peer/mod.ts";
import { EventLog, startDashboard } from "../dashboard/mod.ts";

const USAGE = `Usage: deno task tracker [options]

Options:
  --host HOST          address to listen on (default 127.0.0.1)
  --port PORT          port to listen on; 0 picks a free one (default 7070)
  --http-port PORT     dashboard and HTTP API port on the same host; 0 picks a free one
                       (default 7080)
  --kv PATH            Deno KV file, :memory:, or a remote KV URL (default ./data/tracker.kv)
  --heartbeat-ms MS    heartbeat interval peers must keep (default 10000)
  --session-ttl S      session lifetime in seconds (default 86400)
  -h, --help           show this help

Example:
  deno task tracker --port 7070 --kv ./data/tracker.kv`;

/** Runs the tracker command line; resolves to the exit code once the tracker stopped. */
export async function runTrackerCli(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: "7070" },
        "http-port": { type: "string", default: "7080" },
        kv: { type: "string", default: "./data/tracker.kv" },
        "heartbeat-ms": { type: "string", default: "10000" },
        "session-ttl": { type: "string", default: "86400" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = Number(values.port);
  const heartbeatMs = Number(values["heartbeat-ms"]);
  const sessionTtlS = Number(values["session-ttl"]);
  const httpPort = Number(values["http-port"]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`error: --port must be 0-65535, got ${values.port}`);
    return 2;
  }
  if (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535) {
    console.error(`error: --http-port must be 0-65535, got ${values["http-port"]}`);
    return 2;
  }
  if (!(heartbeatMs > 0) || !(sessionTtlS > 0)) {
    console.error("error: --heartbeat-ms and --session-ttl must be positive numbers");
    return 2;
  }
  const kvPath = values.kv;
  if (kvPath !== ":memory:" && !/^https?:\/\//.test(kvPath)) {
    const dir = kvPath.includes("/") ? kvPath.slice(0, kvPath.lastIndexOf("/")) : ".";
    if (dir) await Deno.mkdir(dir, { recursive: true });
  }
  const events = new EventLog();
  let tracker;
  try {
    tracker = await startTracker({
      hostname: values.host,
      port,
      kvPath,
      heartbeatMs,
      sessionTtlMs: sessionTtlS * 1000,
      onLog: (line) => console.error(`tracker: ${line}`),
      onEvent: (event) => events.record(event),
    });
  } catch (error) {
    console.error(`error: Cannot start tracker: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
  let dashboard;
  try {
    dashboard = startDashboard(
      { store: tracker.store, heartbeatMs: tracker.heartbeatMs, events },
      {
        hostname: values.host,
        port: httpPort,
        onLog: (line) => console.error(`tracker: ${line}`),
      },
    );
  } catch (error) {
    await tracker.close();
    console.error(
      `error: Cannot start the dashboard on port ${httpPort}: ${
        error instanceof Error ? error.message : error
      } (pick another with --http-port, or 0 for a free one)`,
    );
    return 1;
  }
  // Listen for signals before saying we are ready: a SIGTERM sent as soon as the line is seen
  // would otherwise kill the process before the store is closed.
  const { promise, resolve } = Promise.withResolvers<void>();
  const stop = () => resolve();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  console.log(`tracker listening on ${formatAddress(tracker.addr.hostname, tracker.addr.port)}`);
  console.log(
    `dashboard on http://${formatAddress(dashboard.addr.hostname, dashboard.addr.port)}/`,
  );
  await promise;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  await dashboard.close();
  await tracker.close();
  return 0;
}
