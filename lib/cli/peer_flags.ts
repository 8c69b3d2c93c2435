/**
 * The flags several peer commands share: the command line's common options (`--tracker`, `--user`,
 * TLS, `--no-sandbox`), `--json`, `--version PREFIX`, and the flags of a serving peer. A command
 * lists them in its own `flags`; help texts state the defaults from `lib/protocol/defaults.ts`.
 *
 * @module
 */
import {
  DEFAULT_HOST,
  DEFAULT_TRACKER_PORT,
  MAX_UNTICKETED_CONNECTIONS,
  MAX_UNTICKETED_PER_ADDRESS,
  TICKET_WINDOW_MS,
} from "../protocol/mod.ts";
import type { FlagSpec, FlagSpecs, FlagValues } from "./command_spec.ts";
import { stringValue } from "./flag_values.ts";
import type { ServingFlagValues } from "./serving_options.ts";

/** The command line's options for every command. */
export const COMMON_FLAGS: FlagSpecs = {
  tracker: {
    type: "string",
    value: "HOST[:PORT]",
    help:
      `tracker address (env P2PFS_TRACKER, default ${DEFAULT_HOST}:${DEFAULT_TRACKER_PORT}; port ${DEFAULT_TRACKER_PORT} if left out)`,
  },
  user: {
    type: "string",
    value: "NAME",
    help:
      "account name (env P2PFS_USER; default: the one 'login' kept); password from env P2PFS_PASSWORD or typed",
  },
  "tls-ca": {
    type: "string",
    value: "FILE",
    path: true,
    help: "talk TLS to the tracker and TLS peers, trusting this CA (env P2PFS_TLS_CA)",
  },
  tls: { type: "boolean", help: "talk TLS, trusting the system's CAs only (env P2PFS_TLS=1)" },
  "no-sandbox": {
    type: "boolean",
    help: "run serve/shell/get without narrowing Deno's permissions to their folders",
  },
};

/** `--json`: one JSON document on stdout. */
export const JSON_FLAG: FlagSpec = { type: "boolean", help: "print one JSON document on stdout" };

/** `--version PREFIX`: which version of a file. */
export const VERSION_FLAG: FlagSpec = {
  type: "string",
  value: "PREFIX",
  help: "the file version whose id or SHA-256 starts with PREFIX (see details)",
};

/**
 * `--out DIR` on the command line (the shell saves into its shared folder), with its help line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cliOutFlag } from "./peer_flags.ts";
 * assert.equal(cliOutFlag("where to save").cliOnly, true);
 * ```
 */
export function cliOutFlag(help: string): FlagSpec {
  return { type: "string", value: "DIR", path: true, cliOnly: true, help };
}

/** Flags of a serving peer (`serve`, `shell`; `get` takes some on the command line). */
export const SERVING_FLAGS: FlagSpecs = {
  share: { type: "string", value: "DIR", path: true, help: "the folder to share" },
  host: { type: "string", value: "HOST", help: `address to listen on (default ${DEFAULT_HOST})` },
  port: { type: "string", value: "PORT", help: "port to listen on; 0 picks a free one (default)" },
  "announce-host": {
    type: "string",
    value: "HOST",
    help: "host other peers should connect to (tracker needs --trust-announced-hosts)",
  },
  "max-upload": { type: "string", value: "RATE", help: "upload limit, e.g. 20MB/s" },
  "tls-cert": { type: "string", value: "FILE", path: true, help: "serve peers over TLS: cert" },
  "tls-key": { type: "string", value: "FILE", path: true, help: "... and its private key" },
  "ticket-window-ms": {
    type: "string",
    value: "MS",
    help: `close connections that show no read ticket this long (default ${TICKET_WINDOW_MS})`,
  },
  "max-unticketed": {
    type: "string",
    value: "N",
    help:
      `most connections without a ticket given the full window (default ${MAX_UNTICKETED_CONNECTIONS}, ${MAX_UNTICKETED_PER_ADDRESS} per address)`,
  },
};

/**
 * The serving flags' values, as `servingOptions` reads them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { servingFlagValues } from "./peer_flags.ts";
 * assert.equal(servingFlagValues({ port: "0", host: true }).port, "0");
 * assert.equal(servingFlagValues({ port: "0", host: true }).host, undefined);
 * ```
 */
export function servingFlagValues(values: FlagValues): ServingFlagValues {
  return {
    host: stringValue(values.host),
    port: stringValue(values.port),
    "announce-host": stringValue(values["announce-host"]),
    "max-upload": stringValue(values["max-upload"]),
    "tls-cert": stringValue(values["tls-cert"]),
    "tls-key": stringValue(values["tls-key"]),
  };
}
