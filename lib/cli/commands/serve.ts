/**
 * `serve --share DIR`: shares a folder with other peers until stopped (command line only).
 *
 * @module
 */
import { SERVING_FLAGS } from "../peer_flags.ts";
import type { PeerCommand } from "../peer_host.ts";
import { runServing } from "./_serving.ts";

/** `serve`. */
export const serveCommand: PeerCommand = {
  name: "serve",
  summary: "share a folder with other peers until stopped",
  usage: "--share DIR [--host HOST] [--port PORT] [--announce-host HOST] [--max-upload RATE]",
  positionals: { name: "", min: 0, max: 0 },
  flags: SERVING_FLAGS,
  help: [
    "Logs in, shares DIR with other peers until Ctrl-C, then logs out. The tracker records the",
    "address this peer's connection comes from (or --announce-host, when it runs with",
    "--trust-announced-hosts); the ready line shows the address it recorded. Other peers read",
    "only under a ticket from the tracker.",
  ].join("\n"),
  examples: ["serve --user ann --share ./shared --max-upload 20MB/s"],
  needsLogin: true,
  modes: ["cli"],
  sandboxed: true,
  run: (call) => runServing(call, false),
};
