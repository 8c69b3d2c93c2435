/**
 * What a peer command runs in on the command line: TLS towards the tracker, the tracker
 * connection, signing in (the kept session, or the password for this command alone, logged out
 * after it), and Ctrl-C for commands that can be cancelled. {@link cliHost} builds the
 * {@link PeerHost} a command is given, and undoes it all when disposed.
 *
 * @module
 */
import { formatTrackers, type Session, TrackerClient } from "../peer/mod.ts";
import { type ClientTls, RemoteError } from "../protocol/mod.ts";
import { CliError } from "./cli_error.ts";
import { colourFor } from "./colour.ts";
import type { CommandContext } from "./command_context.ts";
import { readPemFlag } from "./flag_values.ts";
import { readPassword } from "./password_prompt.ts";
import {
  PEER_PROGRAM,
  type PeerCliSettings,
  type PeerCommand,
  type PeerHost,
} from "./peer_host.ts";
import type { PeerSettings } from "./peer_settings.ts";
import { SANDBOXED_ENV } from "./sandbox.ts";
import { forgetSession } from "./session_store.ts";
import { visibleJson } from "./visible.ts";

/** TLS towards the tracker and TLS peers: the CA file's, the system's (`tls`), or none. */
export async function clientTlsFor(
  settings: Pick<PeerSettings, "caFile" | "tls">,
): Promise<ClientTls | undefined> {
  if (settings.caFile !== undefined) return { caCerts: [await readPemFlag(settings.caFile)] };
  return settings.tls ? {} : undefined;
}

/**
 * The settings the command line hands its commands: where the trackers are, who signs in and
 * how (`onPassword` is called when the password is asked for, typed or from the environment).
 */
export function cliSettings(
  settings: PeerSettings,
  clientTls: ClientTls | undefined,
  onPassword: () => void,
): PeerCliSettings {
  const { tracker, user, kept } = settings;
  let password: Promise<string> | undefined;
  return {
    tracker,
    user,
    ...(kept ? { kept } : {}),
    forgetKept: async () => {
      if (Deno.env.get(SANDBOXED_ENV) !== "1") await forgetSession(tracker);
    },
    ...(clientTls ? { clientTls } : {}),
    noSandbox: settings.noSandbox,
    password: () => {
      onPassword();
      return password ??= readPassword(`Password for ${user}: `);
    },
    connect: (agent) =>
      TrackerClient.connect(tracker, { agent, ...(clientTls ? { tls: clientTls } : {}) }),
  };
}

/**
 * The host `command` runs in on the command line: `login()` signs in on first use; a
 * cancellable command's `signal` aborts on SIGINT or SIGTERM. Disposing it stops listening for
 * those, and ends the session unless it is the kept one.
 */
export function cliHost(
  command: PeerCommand,
  base: PeerHost,
  settings: PeerCliSettings,
  json: boolean,
): PeerHost & AsyncDisposable {
  let login: { client: TrackerClient; token: string; kept: boolean } | undefined;
  let ctx: Promise<CommandContext> | undefined;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const cancellable = command.cancellable !== undefined;
  if (cancellable) {
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
  }
  const agent = `p2pfs-${command.name}`;
  return {
    ...base,
    signal: stop.signal,
    cli: settings,
    login: () =>
      ctx ??= (async () => {
        const client = await settings.connect(agent);
        let session;
        try {
          session = await signIn(client, settings);
          login = { client, token: session.token, kept: settings.kept !== undefined };
        } catch (error) {
          client.close();
          throw error;
        }
        return {
          client,
          token: login.token,
          // The spelling the account was registered with (names are case-insensitive).
          user: session.user,
          trackerKey: session.trackerKey,
          json,
          colour: colourFor(Deno.stdout),
          // JSON text keeps its exact value; DEL and C1 in its strings are written as escapes.
          print: (text: string) => console.log(json ? visibleJson(text) : text),
          openClient: () => settings.connect(agent),
          ...(settings.clientTls ? { tls: settings.clientTls } : {}),
        };
      })(),
    async [Symbol.asyncDispose]() {
      if (cancellable) {
        Deno.removeSignalListener("SIGINT", onSignal);
        Deno.removeSignalListener("SIGTERM", onSignal);
      }
      if (login) {
        // A session of this command alone ends with it; a kept one is kept.
        if (!login.kept) await login.client.logout(login.token).catch(() => {});
        login.client.close();
      }
    },
  };
}

/**
 * A session on `client`: the kept one picked up again, or a new login with the password. A kept
 * session that was revoked or has expired is forgotten, with one line saying to sign in again.
 */
export async function signIn(client: TrackerClient, settings: PeerCliSettings): Promise<Session> {
  const kept = settings.kept;
  if (!kept) return await client.login(settings.user, await settings.password());
  try {
    return await client.resume(kept.token);
  } catch (error) {
    if (!(error instanceof RemoteError && error.code === "BAD_TOKEN")) throw error;
    await settings.forgetKept().catch(() => {});
    // A script that also gives the password goes on with it.
    if (Deno.env.get("P2PFS_PASSWORD")) {
      delete settings.kept;
      return await client.login(settings.user, await settings.password());
    }
    throw new CliError(
      `Cannot use the session of ${kept.user} kept for ${
        formatTrackers(settings.tracker)
      }: it was ended or has expired; sign in again with '${PEER_PROGRAM} login'`,
    );
  }
}

/**
 * Resolves once SIGINT or SIGTERM arrives (listening from the call on, so a signal sent as soon
 * as a ready line is seen is not lost).
 */
export function waitForSignal(): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  const stop = () => {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    resolve();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  return promise;
}
