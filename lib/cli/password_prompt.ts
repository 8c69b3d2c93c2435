/**
 * Reading a password: from `P2PFS_PASSWORD` (or another variable), or typed on a terminal without
 * echo.
 *
 * @module
 */
import { CliError } from "./cli_error.ts";

/**
 * The password from the environment variable `envName`, or asked for on the terminal.
 *
 * @example
 * ```ts ignore
 * const password = await readPassword("Password for ann: ");
 * ```
 */
export async function readPassword(prompt: string, envName = "P2PFS_PASSWORD"): Promise<string> {
  const fromEnv = Deno.env.get(envName);
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (!Deno.stdin.isTerminal()) {
    throw new CliError(`Cannot read password: set ${envName} or run on a terminal`);
  }
  const encoder = new TextEncoder();
  await Deno.stderr.write(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  const typed: string[] = [];
  const buffer = new Uint8Array(64);
  try {
    outer: while (true) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      for (const char of new TextDecoder().decode(buffer.subarray(0, n))) {
        if (char === "\r" || char === "\n") break outer;
        if (char === "\u0003") throw new CliError("Cannot read password: cancelled");
        if (char === "\u007f" || char === "\b") typed.pop();
        else if (char >= " ") typed.push(char);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
  return typed.join("");
}

/**
 * A new password: from `P2PFS_NEW_PASSWORD`, or typed twice on the terminal (a usage error when
 * the two differ).
 */
export async function readNewPassword(user: string): Promise<string> {
  const fromEnv = Deno.env.get("P2PFS_NEW_PASSWORD");
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const first = await readPassword(`New password for ${user}: `, "P2PFS_NEW_PASSWORD");
  const again = await readPassword(`New password again: `, "P2PFS_NEW_PASSWORD");
  if (first !== again) throw new CliError("Cannot change the password: the two entries differ", 2);
  return first;
}
