/**
 * The serving flags `serve`, `shell` and `get` share (`--host`, `--port`, `--announce-host`,
 * `--max-upload`, `--tls-cert/--tls-key`) and `get --seed-for DURATION`, turned into options, with
 * a usage error (exit 2) for anything malformed: one parser for all three.
 *
 * @module
 */
import { RateLimiter, type SwarmSeatOptions } from "../peer/mod.ts";
import { DEFAULT_HOST, DEFAULT_PEER_PORT, isHost } from "../protocol/mod.ts";
import { CliError } from "./cli_error.ts";
import { USAGE_EXIT } from "./command_spec.ts";
import { parseRateOption, readPemFlag, wholeNumberFlag } from "./flag_values.ts";
import { visible } from "./visible.ts";

/**
 * A duration flag (`--seed-for`, `--stall-timeout`, `--expires`): a whole number with `ms`, `s`, `m`, `h`
 * or `d` (bare: seconds), at most `maxMs` (a week unless given).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./serving_options.ts";
 * assert.equal(parseDuration("10m", "--seed-for"), 600_000);
 * assert.equal(parseDuration("30", "--seed-for"), 30_000);
 * assert.equal(parseDuration("2d", "--expires", 365 * 86_400_000), 172_800_000);
 * ```
 */
export function parseDuration(text: string, flag: string, maxMs: number = WEEK_MS): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS }[match?.[2] ?? "s"]!;
  const ms = match ? Number(match[1]) * unit : NaN;
  if (!Number.isSafeInteger(ms) || ms > maxMs) {
    throw new CliError(
      `Cannot use ${flag} "${text}": expected e.g. 30s, 10m, 2h or 7d (at most ${
        maxMs % DAY_MS === 0 ? `${maxMs / DAY_MS} days` : `${maxMs} ms`
      })`,
      USAGE_EXIT,
    );
  }
  return ms;
}

const DAY_MS = 24 * 3_600_000;
const WEEK_MS = 7 * DAY_MS;

/** The flag values {@link servingOptions} reads. */
export interface ServingFlagValues {
  /** `--host HOST`: the address to listen on. */
  host?: string | undefined;
  /** `--port PORT`: the port to listen on (0: a free one). */
  port?: string | undefined;
  /** `--announce-host HOST`: the host other peers should connect to. */
  "announce-host"?: string | undefined;
  /** `--max-upload RATE`: the upload limit. */
  "max-upload"?: string | undefined;
  /** `--tls-cert FILE`: serve peers over TLS with this certificate chain. */
  "tls-cert"?: string | undefined;
  /** `--tls-key FILE`: ... and its private key. */
  "tls-key"?: string | undefined;
}

/** Where and how `serve`, `shell` or a `get` serves other peers, from their serving flags. */
export async function servingOptions(
  values: ServingFlagValues,
  command = "get",
): Promise<Omit<SwarmSeatOptions, "user" | "trackerKey">> {
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new CliError(`Cannot run ${command}: give both --tls-cert and --tls-key`, USAGE_EXIT);
  }
  const announceHost = values["announce-host"];
  if (announceHost !== undefined && !isHost(announceHost)) {
    throw new CliError(
      `Cannot use --announce-host "${
        visible(announceHost)
      }": expected an IPv4 address, an IPv6 address or a DNS name`,
      USAGE_EXIT,
    );
  }
  const port = values.port === undefined
    ? DEFAULT_PEER_PORT
    : wholeNumberFlag(values.port, "--port", 0, 65535);
  return {
    hostname: values.host ?? DEFAULT_HOST,
    port,
    ...(announceHost ? { announceHost } : {}),
    ...(values["max-upload"]
      ? { uploadLimiter: new RateLimiter(parseRateOption(values["max-upload"])) }
      : {}),
    ...(values["tls-cert"]
      ? {
        tls: {
          cert: await readPemFlag(values["tls-cert"]),
          key: await readPemFlag(values["tls-key"]!),
        },
      }
      : {}),
  };
}
