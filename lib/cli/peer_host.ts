/**
 * What the peer's commands are given to run: a {@link PeerHost}, which the command line fills with
 * its settings (`cli`) and the shell with its session (`shell`). A command reads the part it
 * needs; `commands/` holds one module per command.
 *
 * @module
 */
import type { GetFilesOutcome, SwarmHost, TrackerAddress, TrackerClient } from "../peer/mod.ts";
import type { ClientTls } from "../protocol/mod.ts";
import type { Command, CommandHost } from "./command_spec.ts";
import type { StoredSession } from "./session_store.ts";

/** How the peer program is called in messages. */
export const PEER_PROGRAM = "p2pfs-peer";

/** What the command line gives the commands that only run there. */
export interface PeerCliSettings {
  /** The trackers of one cluster, in the order to try them. */
  tracker: TrackerAddress[];
  /** Who runs the command. */
  user: string;
  /** TLS towards the tracker and TLS peers. */
  clientTls?: ClientTls;
  /** `--no-sandbox` was given. */
  noSandbox: boolean;
  /** The password (from `P2PFS_PASSWORD` or typed). */
  password(): Promise<string>;
  /** The session `login` kept for these trackers, used instead of a password. */
  kept?: StoredSession;
  /** Forgets the kept session (it was revoked, or `logout` ended it). */
  forgetKept(): Promise<void>;
  /** A new tracker connection (not logged in). */
  connect(agent: string): Promise<TrackerClient>;
}

/** What the shell gives the commands. */
export interface PeerShellSession {
  /** Where `get` saves (the shared folder). */
  outDir: string;
  /** The shell's `status` text. */
  status(): string;
  /** Ends the session after this command. */
  leave(): void;
  /** Counts a `get` and re-indexes the shared folder. */
  gotten(outcome: GetFilesOutcome | undefined): void;
  /** The shell's serving peer, which serves what `get` has verified meanwhile. */
  seat?: SwarmHost;
}

/** The peer's command host: the command line has `cli`, the shell has `shell`. */
export interface PeerHost extends CommandHost {
  /** The whole command table (for `help`, and for `shell`, which hands it on). */
  commands: readonly PeerCommand[];
  /** Set on the command line. */
  cli?: PeerCliSettings;
  /** Set in the shell. */
  shell?: PeerShellSession;
}

/** A peer command. */
export type PeerCommand = Command<PeerHost>;
