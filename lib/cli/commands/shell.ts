/**
 * `shell --share DIR`: an interactive session that serves a folder while it runs (command line
 * only; the session itself is `lib/cli/shell.ts`).
 *
 * @module
 */
import { SERVING_FLAGS } from "../peer_flags.ts";
import type { PeerCommand } from "../peer_host.ts";
import { runServing } from "./_serving.ts";

/** `shell`. */
export const shellCommand: PeerCommand = {
  name: "shell",
  summary: "interactive session, serving a folder while it runs",
  usage: "--share DIR [--host HOST] [--port PORT] [--max-upload RATE]",
  positionals: { name: "", min: 0, max: 0 },
  flags: {
    ...SERVING_FLAGS,
    share: { ...SERVING_FLAGS.share!, help: "the folder to share (created if missing)" },
    out: {
      type: "string",
      value: "DIR",
      path: true,
      help: "where get saves (default: the shared folder, so it is shared on)",
    },
  },
  help: [
    "An interactive session: serves DIR while you list, ping and get files. DIR is created",
    "when it does not exist. Ctrl-C cancels the running command; quit (or Ctrl-D) leaves.",
  ].join("\n"),
  examples: ["shell --user ann --share ./shared"],
  needsLogin: true,
  modes: ["cli"],
  sandboxed: true,
  run: (call) => runServing(call, true),
};
