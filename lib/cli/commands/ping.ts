/**
 * `ping USER`: connects to a user's peer directly and times a ping.
 *
 * @module
 */
import { formatAddress, pingPeer } from "../../peer/mod.ts";
import { PING_TIMEOUT_MS } from "../../protocol/mod.ts";
import { paint } from "../colour.ts";
import type { CommandContext } from "../command_context.ts";
import { JSON_FLAG } from "../peer_flags.ts";
import type { PeerCommand } from "../peer_host.ts";
import { thousandths } from "../thousandths.ts";
import { visible } from "../visible.ts";

/** `ping`. */
export const pingCommand: PeerCommand = {
  name: "ping",
  summary: "check a peer directly over TCP",
  usage: "USER",
  positionals: { name: "USER", min: 1, max: 1 },
  completes: "users",
  flags: { json: JSON_FLAG },
  help: "Connects to USER's peer directly and times a ping. Exit 1 when it does not answer.",
  examples: ["ping bob"],
  needsLogin: true,
  modes: ["cli", "shell"],
  async run({ positionals, host }) {
    const result = await runPing(await host.login(), positionals[0]!);
    return result.online ? 0 : 1;
  },
};

/** Finds where `user`'s peer is, pings it, and prints whether it answered and how fast. */
export async function runPing(
  ctx: CommandContext,
  user: string,
): Promise<{ user: string; online: boolean; rttMs: number | null }> {
  const where = await ctx.client.locate(ctx.token, user);
  const ping = await pingPeer(where.host, where.port, {
    timeoutMs: PING_TIMEOUT_MS,
    ...(where.tls ? { tls: ctx.tls ?? {} } : {}),
  });
  const result = {
    user,
    online: ping.online,
    rttMs: ping.rttMs === null ? null : thousandths(ping.rttMs),
  };
  if (ctx.json) ctx.print(JSON.stringify(result));
  else if (ping.online) {
    ctx.print(
      `${visible(user)} at ${formatAddress(where.host, where.port)} is ${
        paint("green", "online", ctx.colour ?? false)
      }: ${result.rttMs} ms`,
    );
  } else {
    ctx.print(
      `${visible(user)} at ${formatAddress(where.host, where.port)} is ${
        paint("red", "offline", ctx.colour ?? false)
      } (${visible(ping.error ?? "no answer")})`,
    );
  }
  return result;
}
