/**
 * `status`: who you are, whether the tracker answers, your sessions and what the tracker knows of
 * your peer; in the shell, also what this session moved.
 *
 * @module
 */
import { formatTrackers, type TrackerClient } from "../../peer/mod.ts";
import { DOWNLOADS_DIR } from "../../protocol/mod.ts";
import { colourFor } from "../colour.ts";
import type { CommandCall } from "../command_spec.ts";
import { stringValue } from "../flag_values.ts";
import { userPath } from "../paths.ts";
import { signIn } from "../peer_context.ts";
import { cliOutFlag, JSON_FLAG } from "../peer_flags.ts";
import type { PeerCommand, PeerHost } from "../peer_host.ts";
import { sandboxScope } from "../sandbox.ts";
import { formatStatus, gatherStatus } from "../status.ts";
import { visibleJson } from "../visible.ts";

/** `status`. */
export const statusCommand: PeerCommand = {
  name: "status",
  summary: "who you are, the tracker, what you share",
  usage: "[--out DIR]",
  positionals: { name: "", min: 0, max: 0 },
  flags: {
    out: cliOutFlag(`show the sandbox a get into DIR would have (default ./${DOWNLOADS_DIR})`),
    json: { ...JSON_FLAG, cliOnly: true },
  },
  help: [
    "Who you are, whether the tracker answers (and over TLS), your sessions, and what the",
    "tracker knows of your peer: address, online, files shared, downloads and failures. In",
    "the shell: also what this session uploaded and downloaded. Exit 1 when the tracker is",
    "unreachable.",
  ].join("\n"),
  examples: ["status --json"],
  needsLogin: true,
  modes: ["cli", "shell"],
  run(call) {
    if (call.host.shell) {
      call.host.print(call.host.shell.status());
      return Promise.resolve(0);
    }
    return runStatus(call);
  },
};

/** On the command line: gathers the status (signing in) and prints it; exit 1 when unreachable. */
export async function runStatus({ values, host }: CommandCall<PeerHost>): Promise<number> {
  const settings = host.cli!;
  if (!settings.kept) await settings.password(); // asked before anything is printed
  let login: { client: TrackerClient; token: string } | undefined;
  try {
    const report = await gatherStatus({
      user: settings.user,
      address: formatTrackers(settings.tracker),
      tls: settings.clientTls !== undefined,
      getSandbox: settings.noSandbox ? null : sandboxScope("get", {
        out: stringValue(values.out) ?? userPath(DOWNLOADS_DIR),
        tlsFiles: [],
      }),
      connect: async () => {
        const client = await settings.connect("p2pfs-status");
        try {
          login = { client, token: (await signIn(client, settings)).token };
        } catch (error) {
          client.close();
          throw error;
        }
        return login;
      },
    });
    if (values.json) console.log(visibleJson(JSON.stringify(report)));
    else console.log(formatStatus(report, colourFor(Deno.stdout)));
    return report.tracker.reachable ? 0 : 1;
  } finally {
    if (login) {
      if (!settings.kept) await login.client.logout(login.token).catch(() => {});
      login.client.close();
    }
  }
}
