/**
 * One line for any error, with what to do next where we know it: the boundary where errors of
 * every layer become what the command line and the shell print.
 *
 * @module
 */
import { PeerError } from "../peer/mod.ts";
import { ProtocolError, RemoteError } from "../protocol/mod.ts";
import { CliError } from "./cli_error.ts";
import { visible } from "./visible.ts";

/**
 * One line for an error, with what to do next where we know it. Messages that may carry text from
 * the tracker or another peer have their control characters written out ({@link visible}).
 */
export function describeError(error: unknown, hints: ErrorHints = {}): string {
  if (error instanceof CliError) return error.message;
  return visible(describeOtherError(error, hints));
}

/** What the caller knows that changes the advice. */
export interface ErrorHints {
  /** The password was typed at the prompt (so `P2PFS_PASSWORD` is not the one to check). */
  typedPassword?: boolean;
}

function describeOtherError(error: unknown, hints: ErrorHints): string {
  if (error instanceof PeerError) {
    switch (error.code) {
      case "TRACKER_UNREACHABLE":
        if (/TLS|HTTP server/.test(error.message)) return error.message;
        return `${error.message} (is the tracker running? start one with 'p2pfs-tracker' or 'deno task -q tracker', or pass --tracker HOST:PORT)`;
      case "NO_SOURCE":
        return `${error.message} (try again when a peer that has it is online)`;
      case "STALLED":
        return `${error.message} (run the same get when a peer that has the rest is online, or wait longer with --stall-timeout)`;
      case "PATH_ESCAPE":
        return `${error.message} (remove the link, or choose another --out)`;
      case "BUSY":
        return `${error.message} (wait for it to finish, or choose another --out)`;
      case "BAD_PATH":
        return `${error.message} (choose another --out)`;
      case "FOREIGN_PART":
        return `${error.message} (move it away, or choose another --out, then run get again)`;
      case "BAD_DETAILS":
        return `${error.message}; nothing was written (the tracker is misbehaving: tell its operator)`;
      default:
        return error.message;
    }
  }
  if (error instanceof RemoteError) {
    switch (error.code) {
      case "AUTH_FAILED":
        return hints.typedPassword
          ? `${error.message} (check --user and the password you typed, or create the account with 'register')`
          : `${error.message} (check --user and P2PFS_PASSWORD, or create the account with 'register')`;
      case "USER_EXISTS":
        return `${error.message} (pick another name, or log in with it)`;
      case "BUSY":
        return `${error.message} (the tracker is overloaded; try again in a few seconds)`;
      case "NOT_FOUND":
        return `${error.message} (see what is available with 'list')`;
      default:
        return error.message;
    }
  }
  if (error instanceof ProtocolError) return `${error.message} (is that address a p2pfs tracker?)`;
  if (error instanceof Deno.errors.NotFound) return error.message;
  return error instanceof Error ? error.message : String(error);
}
