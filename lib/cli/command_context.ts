/**
 * What a peer command works with once signed in: the tracker connection, the session, who is
 * signed in and how to print. The command line and the shell each build one (see
 * `peer_context.ts` and `shell.ts`).
 *
 * @module
 */
import type { TrackerClient } from "../peer/mod.ts";
import type { ClientTls } from "../protocol/mod.ts";

/** A logged-in context for commands. */
export interface CommandContext {
  /** The tracker connection. */
  client: TrackerClient;
  /** The session token. */
  token: string;
  /** Who is logged in. */
  user: string;
  /** The tracker's ticket key from login (base64url), for serving while downloading. */
  trackerKey?: string;
  /** Prints one line of output. */
  print: (text: string) => void;
  /** Whether to print JSON instead of text. */
  json: boolean;
  /** TLS settings for peers that serve over TLS (and the tracker, if it does). */
  tls?: ClientTls;
  /** Opens another connection to the same tracker (the token works on any of them). */
  openClient?: () => Promise<TrackerClient>;
  /** Whether human output may use colour (stdout is a terminal and `NO_COLOR` is unset). */
  colour?: boolean;
}
