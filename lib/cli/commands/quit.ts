/**
 * `quit` (or `exit`), in the shell: log out and leave.
 *
 * @module
 */
import type { PeerCommand } from "../peer_host.ts";

/** `quit`, also `exit`. */
export const quitCommand: PeerCommand = {
  name: "quit",
  aliases: ["exit"],
  summary: "log out and leave (also Ctrl-D on an empty line)",
  usage: "",
  positionals: { name: "", min: 0, max: 0 },
  flags: {},
  help: "Logs out and leaves the shell.",
  examples: [],
  needsLogin: false,
  modes: ["shell"],
  run({ host }) {
    host.shell?.leave();
    return Promise.resolve(0);
  },
};
