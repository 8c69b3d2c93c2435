/**
 * `deno task tracker`: parse flags, start the tracker, print where it listens, stop on a signal.
 *
 * @module
 */
import {
  DEFAULT_DASHBOARD_PORT,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_HOST,
  DEFAULT_TRACKER_PORT,
  fitConnectionCaps,
  FRAME_BUDGET_BYTES,
  HANDSHAKE_TIMEOUT_MS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_ACCOUNT,
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_HTTP_CONNECTIONS,
  MAX_HTTP_CONNECTIONS_PER_ADDRESS,
  MAX_UNAUTHENTICATED_CONNECTIONS,
  MAX_WAITING_HASHES,
  openFileLimit,
  readPem,
  REGISTRATIONS_PER_ADDRESS,
  TICKET_TTL_MS,
  TRACKER_IDLE_TIMEOUT_MS,
} from "../protocol/mod.ts";
import { wholeNumber } from "./flag_values.ts";

import { dirname, resolve as resolvePath } from "node:path";
import {
  type AdminRequest,
  KvTrackerStore,
  type RegistrationPolicy,
  ScryptHasher,
  startTracker,
  type TrackerService,
  type TrackerStore,
} from "../tracker/mod.ts";
import {
  canSandbox,
  currentScope,
  describeScope,
  runSandboxed,
  SANDBOXED_ENV,
  sandboxScope,
} from "./sandbox.ts";
import { formatAddress } from "../peer/mod.ts";
import {
  type AccessBackend,
  type DashboardAccess,
  EventLog,
  SharedEvents,
  startDashboard,
} from "../dashboard/mod.ts";
import { visible } from "./visible.ts";
import { type FlagSpecs, parseFlags } from "./command_spec.ts";
import { CliError } from "./cli_error.ts";
import { userCwd, userPath } from "./paths.ts";
import { versionLine } from "./version.ts";
import { runTrackerWorkers } from "./tracker_workers.ts";

/** A flag's positive whole number, its default when absent, NaN when it is not one. */
function positive(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  return wholeNumber(text, 1) ?? NaN;
}

/** How the tracker program is called in messages. */
export const TRACKER_PROGRAM = "p2pfs-tracker";

/** The tracker's flags (help text is in the usage below). */
const TRACKER_FLAGS: FlagSpecs = Object.fromEntries([
  ...[
    "host",
    "port",
    "http-port",
    "kv",
    "heartbeat-ms",
    "session-ttl",
    "ticket-ttl-ms",
    "max-connections",
    "max-per-address",
    "max-unauthenticated",
    "max-per-account",
    "max-http-connections",
    "frame-budget-bytes",
    "handshake-timeout-ms",
    "idle-timeout-ms",
    "max-waiting-hashes",
    "max-registrations",
    "registration",
    "audit-days",
    "dashboard-access",
    "workers",
    // Internal: this process is worker I of --workers N (started by the parent).
    "worker",
  ].map((name) => [name, { type: "string", help: "" }]),
  ["tls-cert", { type: "string", path: true, help: "" }],
  ["tls-key", { type: "string", path: true, help: "" }],
  ["no-sandbox", { type: "boolean", help: "" }],
  ["trust-announced-hosts", { type: "boolean", help: "" }],
  ["version", { type: "boolean", help: "" }],
  ["help", { type: "boolean", short: "h", help: "" }],
]);

const USAGE =
  `Usage: p2pfs-tracker [options]   (from the repository: deno task -q tracker [options])

Options:
  --host HOST          address to listen on (default ${DEFAULT_HOST})
  --port PORT          port to listen on; 0 picks a free one (default ${DEFAULT_TRACKER_PORT})
  --http-port PORT     dashboard and HTTP API port on the same host; 0 picks a free one
                       (default ${DEFAULT_DASHBOARD_PORT})
  --kv PATH            Deno KV file, :memory:, or a remote KV URL (default ./data/tracker.kv)
  --heartbeat-ms MS    heartbeat interval peers must keep (default ${DEFAULT_HEARTBEAT_MS})
  --session-ttl S      session lifetime in seconds (default 86400)
  --ticket-ttl-ms MS   how long a read ticket from 'details' opens new peer connections
                       (default ${TICKET_TTL_MS}; downloads renew theirs as it runs out)
  --max-connections N  most connections at once (default ${MAX_CONNECTIONS})
  --max-per-address N  most connections at once from one address (an IPv6 /64 counts as
                       one), on each port (default ${MAX_CONNECTIONS_PER_ADDRESS}; ${MAX_HTTP_CONNECTIONS_PER_ADDRESS} on the dashboard)
  --max-unauthenticated N  most connections not logged in yet; when full, the oldest of the
                       address holding the most is closed (default ${MAX_UNAUTHENTICATED_CONNECTIONS})
  --max-per-account N  most logged-in connections of one account, from any address (default ${MAX_CONNECTIONS_PER_ACCOUNT})
  --max-http-connections N  most dashboard connections at once (default ${MAX_HTTP_CONNECTIONS})
  --frame-budget-bytes N  bytes of large frames being received at once (default ${FRAME_BUDGET_BYTES})
  --handshake-timeout-ms MS  time for a new connection's hello (default ${HANDSHAKE_TIMEOUT_MS})
  --idle-timeout-ms MS       close connections silent this long (default ${TRACKER_IDLE_TIMEOUT_MS})
  --trust-announced-hosts    record the host a peer announces (for NAT or proxies) instead of
                             the address its connection comes from; peers choose only their
                             port otherwise
  --max-waiting-hashes N     password checks that may wait for a turn; more get BUSY (default ${MAX_WAITING_HASHES})
  --max-registrations N      registrations one address may make at once, then one a minute
                             (default ${REGISTRATIONS_PER_ADDRESS})
  --registration POLICY      who may register: open (default), invite (register --invite CODE
                             from an admin's 'p2pfs-peer admin invite'), or closed (admins add
                             accounts: 'p2pfs-peer admin add NAME')
  --audit-days N             days the audit log keeps admin actions (default 90)
  --dashboard-access WHO     public, members or admins (default: members when --host is not
                             loopback, public on loopback); members sign in on /signin
  --tls-cert FILE      serve over TLS with this certificate chain (PEM)
  --tls-key FILE       ... and this private key (PEM)
  --workers N          tracker processes sharing the port and the KV (default: the number of
                       cores); each has its own connection caps
  --no-sandbox         do not narrow Deno's permissions to the KV folder
  -h, --help           show this help
  --version            show the program's version

The first account registered on a new tracker is its admin. For recovery, without the network:
  p2pfs-tracker admin promote NAME [--kv PATH]   makes NAME an admin (stop the tracker first for
                                                 a local KV file, or run it against the same KV)

Paths are taken from the folder the command was run from.

Example:
  p2pfs-tracker --port ${DEFAULT_TRACKER_PORT} --kv ./data/tracker.kv`;

/** Runs the tracker command line; resolves to the exit code once the tracker stopped. */
export async function runTrackerCli(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(args, TRACKER_FLAGS, userCwd());
    if (parsed.positionals.length > 0 && parsed.positionals[0] !== "admin") {
      throw new CliError(
        `Cannot use '${
          parsed.positionals[0]
        }': the tracker takes only options (and 'admin promote NAME')`,
      );
    }
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    return 2;
  }
  const flags = parsed.values;
  const text = (name: string, fallback: string): string => {
    const value = flags[name];
    return typeof value === "string" ? value : fallback;
  };
  const optional = (name: string): string | undefined => {
    const value = flags[name];
    return typeof value === "string" ? value : undefined;
  };
  const values = {
    help: flags.help === true,
    host: text("host", DEFAULT_HOST),
    port: text("port", String(DEFAULT_TRACKER_PORT)),
    "http-port": text("http-port", String(DEFAULT_DASHBOARD_PORT)),
    kv: text("kv", "./data/tracker.kv"),
    "heartbeat-ms": text("heartbeat-ms", String(DEFAULT_HEARTBEAT_MS)),
    "session-ttl": text("session-ttl", "86400"),
    "ticket-ttl-ms": optional("ticket-ttl-ms"),
    "tls-cert": optional("tls-cert"),
    "tls-key": optional("tls-key"),
    "no-sandbox": flags["no-sandbox"] === true,
    "trust-announced-hosts": flags["trust-announced-hosts"] === true,
    "max-connections": optional("max-connections"),
    "max-per-address": optional("max-per-address"),
    "max-unauthenticated": optional("max-unauthenticated"),
    "max-per-account": optional("max-per-account"),
    "max-http-connections": optional("max-http-connections"),
    "frame-budget-bytes": optional("frame-budget-bytes"),
    "handshake-timeout-ms": optional("handshake-timeout-ms"),
    "idle-timeout-ms": optional("idle-timeout-ms"),
    "max-waiting-hashes": optional("max-waiting-hashes"),
    "max-registrations": optional("max-registrations"),
    registration: text("registration", "open"),
    "audit-days": optional("audit-days"),
    "dashboard-access": optional("dashboard-access"),
    workers: optional("workers"),
    worker: optional("worker"),
  };
  if (flags.version === true) {
    console.log(versionLine(TRACKER_PROGRAM));
    return 0;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals[0] === "admin") {
    return await runOfflineAdmin(parsed.positionals.slice(1), values.kv);
  }
  if (!["open", "invite", "closed"].includes(values.registration)) {
    console.error(
      `error: --registration must be open, invite or closed, got ${values.registration}`,
    );
    return 2;
  }
  const loopback = /^(127\.|::1$|localhost$)/.test(values.host);
  const access = values["dashboard-access"] ?? (loopback ? "public" : "members");
  if (!["public", "members", "admins"].includes(access)) {
    console.error(
      `error: --dashboard-access must be public, members or admins, got ${access}`,
    );
    return 2;
  }
  const auditDays = values["audit-days"] === undefined
    ? undefined
    : wholeNumber(values["audit-days"], 1) ?? NaN;
  if (auditDays !== undefined && Number.isNaN(auditDays)) {
    console.error(
      `error: --audit-days must be a whole number of days, got ${values["audit-days"]}`,
    );
    return 2;
  }
  const port = wholeNumber(values.port, 0, 65535);
  const heartbeatMs = Number(values["heartbeat-ms"]);
  const sessionTtlS = Number(values["session-ttl"]);
  const httpPort = wholeNumber(values["http-port"], 0, 65535);
  if (port === undefined) {
    console.error(`error: --port must be 0-65535, got ${values.port}`);
    return 2;
  }
  if (httpPort === undefined) {
    console.error(`error: --http-port must be 0-65535, got ${values["http-port"]}`);
    return 2;
  }
  if (!(heartbeatMs > 0) || !(sessionTtlS > 0)) {
    console.error("error: --heartbeat-ms and --session-ttl must be positive numbers");
    return 2;
  }
  const ticketTtlMs = values["ticket-ttl-ms"] === undefined
    ? undefined
    : positive(values["ticket-ttl-ms"], TICKET_TTL_MS);
  if (Number.isNaN(ticketTtlMs)) {
    console.error(
      `error: --ticket-ttl-ms must be a positive whole number of ms, got ${
        values["ticket-ttl-ms"]
      }`,
    );
    return 2;
  }
  const workers = positive(values.workers, navigator.hardwareConcurrency || 1);
  if (Number.isNaN(workers) || workers > 64) {
    console.error(`error: --workers must be a whole number from 1 to 64, got ${values.workers}`);
    return 2;
  }
  const workerId = values.worker === undefined ? undefined : Number(values.worker);
  const localKv = values.kv !== ":memory:" && !/^https?:\/\//.test(values.kv);
  // A KV file is taken from the folder the command was run from, like every path.
  const kvPath = localKv ? userPath(values.kv) : values.kv;
  const kvDir = localKv ? dirname(resolvePath(kvPath)) : undefined;
  if (kvDir) await Deno.mkdir(kvDir, { recursive: true });

  // The tracker runs in a child process whose Deno permissions cover only its KV folder; with
  // several workers, each is such a child.
  const sandbox = Deno.env.get(SANDBOXED_ENV) !== "1" && !values["no-sandbox"] && canSandbox();
  const tlsFiles = [values["tls-cert"], values["tls-key"]].filter((f) => f !== undefined);
  const narrowed = sandboxScope("tracker", { ...(kvDir ? { kvDir } : {}), tlsFiles })!;
  const childArgs = [...args, `--kv=${kvPath}`];
  if (workerId === undefined && workers > 1) {
    return await runTrackerWorkers(childArgs, workers, sandbox ? narrowed : null);
  }
  if (sandbox && workerId === undefined) {
    return await runSandboxed(childArgs, narrowed, "tracker.ts");
  }
  const scope = currentScope();
  if (localKv) console.error(`tracker: kv ${kvPath}`);
  console.error(
    scope
      ? `tracker: ${describeScope(scope)}`
      : "tracker: not sandboxed (--no-sandbox, or a compiled program)",
  );
  const events = new EventLog();
  // Every tracker's transfers and counters, through the store (set once the store is open).
  let shared: SharedEvents | undefined = undefined;
  let tracker;
  let limits;
  let limitsLine;
  try {
    if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
      console.error("error: give both --tls-cert and --tls-key, or neither");
      return 2;
    }
    const tls = values["tls-cert"]
      ? { cert: await readPem(values["tls-cert"]), key: await readPem(values["tls-key"]!) }
      : undefined;
    const wanted = {
      maxConnections: positive(values["max-connections"], MAX_CONNECTIONS),
      maxPerAddress: positive(values["max-per-address"], MAX_CONNECTIONS_PER_ADDRESS),
      maxUnauthenticated: positive(
        values["max-unauthenticated"],
        MAX_UNAUTHENTICATED_CONNECTIONS,
      ),
      maxPerAccount: positive(values["max-per-account"], MAX_CONNECTIONS_PER_ACCOUNT),
      maxHttpConnections: positive(values["max-http-connections"], MAX_HTTP_CONNECTIONS),
      frameBudgetBytes: positive(values["frame-budget-bytes"], FRAME_BUDGET_BYTES),
      handshakeTimeoutMs: positive(values["handshake-timeout-ms"], HANDSHAKE_TIMEOUT_MS),
      idleTimeoutMs: positive(values["idle-timeout-ms"], TRACKER_IDLE_TIMEOUT_MS),
      maxWaitingHashes: positive(values["max-waiting-hashes"], MAX_WAITING_HASHES),
      registrationsPerAddress: positive(values["max-registrations"], REGISTRATIONS_PER_ADDRESS),
    };
    if (Object.values(wanted).some(Number.isNaN)) {
      console.error(
        "error: --max-connections, --max-per-address, --max-per-account, --max-unauthenticated, --max-http-connections, --frame-budget-bytes, --max-waiting-hashes, --max-registrations and the timeouts must be positive whole numbers",
      );
      return 2;
    }
    // Both ports' connections together must stay below the open-file limit, with room to spare.
    const openFiles = openFileLimit();
    const caps = fitConnectionCaps(openFiles, {
      protocol: wanted.maxConnections,
      dashboard: wanted.maxHttpConnections,
    });
    limits = { ...wanted, maxConnections: caps.protocol, maxHttpConnections: caps.dashboard };
    const lowered = caps.protocol < wanted.maxConnections ||
      caps.dashboard < wanted.maxHttpConnections;
    limitsLine = `limits: ${openFiles ?? "unknown"} open files; protocol ${caps.protocol} ` +
      `connections, dashboard ${caps.dashboard}${lowered ? " (lowered to fit)" : ""}`;
    const { maxWaitingHashes, ...serviceLimits } = limits;
    tracker = await startTracker({
      ...serviceLimits,
      hasher: new ScryptHasher({ maxWaiting: maxWaitingHashes }),
      ...(tls ? { tls } : {}),
      hostname: values.host,
      port,
      kvPath,
      heartbeatMs,
      sessionTtlMs: sessionTtlS * 1000,
      ...(ticketTtlMs !== undefined ? { ticketTtlMs } : {}),
      registration: values.registration as RegistrationPolicy,
      ...(auditDays !== undefined ? { auditDays } : {}),
      trustAnnouncedHosts: values["trust-announced-hosts"],
      ...(workerId !== undefined ? { workerId, reusePort: true } : {}),
      onLog: (line) => console.error(`tracker: ${visible(line, { newlines: true })}`),
      onEvent: (event) => shared ? shared.record(event) : events.record(event),
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse || /address already in use/i.test(String(error))) {
      console.error(
        `error: Cannot start tracker: port ${port} on ${values.host} is in use (stop what uses it, pick another with --port PORT, or --port 0 for a free one)`,
      );
      return 1;
    }
    console.error(`error: Cannot start tracker: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
  shared = new SharedEvents(events, tracker.store, tracker.service.trackerId);
  shared.start((error) => console.error(`tracker: sharing events failed: ${error}`));
  let dashboard: { addr: Deno.NetAddr; close(): Promise<void> };
  try {
    // Every worker serves the dashboard on one port (it shows the whole cluster), so it answers
    // while any worker is up.
    dashboard = startDashboard(
      {
        store: tracker.store,
        heartbeatMs: tracker.heartbeatMs,
        events,
        index: () => tracker.service.index(),
        partialHolders: tracker.partialHolders,
        trackerId: tracker.service.trackerId,
        shared,
        ...(workerId !== undefined ? { worker: workerId } : {}),
      },
      {
        ...(workerId !== undefined ? { reusePort: true } : {}),
        hostname: values.host,
        port: httpPort,
        maxConnections: limits.maxHttpConnections,
        // The dashboard's own, lower cap per address, unless --max-per-address says otherwise.
        maxPerAddress: values["max-per-address"] === undefined
          ? MAX_HTTP_CONNECTIONS_PER_ADDRESS
          : limits.maxPerAddress,
        onLog: (line) => console.error(`tracker: ${visible(line, { newlines: true })}`),
        access: {
          access: access as DashboardAccess,
          backend: dashboardBackend(tracker.service, tracker.store),
        },
      },
    );
    if (workerId === undefined || workerId === 1) {
      console.error(
        `tracker: dashboard access: ${access}${
          access === "public"
            ? values["dashboard-access"] === undefined
              ? " (the tracker listens on loopback; --dashboard-access members asks for sign-in)"
              : ""
            : " (members sign in on /signin; the API and /metrics take Authorization: Bearer TOKEN)"
        }`,
      );
    }
  } catch (error) {
    await shared.stop();
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
  console.log(limitsLine);
  console.log(`tracker listening on ${formatAddress(tracker.addr.hostname, tracker.addr.port)}`);
  console.log(
    `dashboard on http://${formatAddress(dashboard.addr.hostname, dashboard.addr.port)}/`,
  );
  await promise;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  await dashboard.close();
  await shared.stop();
  await tracker.close();
  return 0;
}

/** `p2pfs-tracker admin promote NAME`: makes an admin straight in the KV (recovery). */
async function runOfflineAdmin(args: string[], kv: string): Promise<number> {
  const [action, name, ...rest] = args;
  if (action !== "promote" || name === undefined || rest.length > 0) {
    console.error(`error: Cannot run admin: expected 'admin promote NAME'\n\n${USAGE}`);
    return 2;
  }
  const path = kv !== ":memory:" && !/^https?:\/\//.test(kv) ? userPath(kv) : kv;
  await using store = await KvTrackerStore.open(path);
  const done = await store.updateUser(name, (u) => ({ ...u, admin: true }));
  if (!done) {
    console.error(`error: Cannot promote ${name}: no such account in ${path}`);
    return 1;
  }
  await store.audit(
    { at: Date.now(), by: "(tracker command)", action: "promote", target: name },
    90 * 24 * 3600_000,
  );
  console.log(`${done.name ?? name} is an admin of the tracker on ${path}`);
  return 0;
}

/** What the dashboard's sign-in and admin page use of a running tracker. */
function dashboardBackend(service: TrackerService, store: TrackerStore): AccessBackend {
  return {
    async login(user, password, address) {
      const reply = await service.accounts.login(user, password, {
        ...(address ? { address } : {}),
        agent: "p2pfs-dashboard",
      });
      return String(reply.token);
    },
    async logout(token) {
      const { user, ended } = await service.accounts.logout(token, {});
      await service.files.offline(user, ended);
    },
    async whoIs(token) {
      try {
        const { user, mustChangePassword, scope } = await service.accounts.authenticate(token);
        if (mustChangePassword) return null;
        const record = await store.getUser(user);
        return {
          user,
          admin: record?.admin === true && !record.disabled,
          ...(scope ? { scope } : {}),
        };
      } catch {
        return null;
      }
    },
    admin: (token, request) =>
      service.admin.handle(token, request as AdminRequest) as Promise<Record<string, unknown>>,
    users: () => store.listUsers(),
    audit: (limit) => store.listAudit(limit),
    transfers: (limit) => store.listTransferAudit(limit),
  };
}
