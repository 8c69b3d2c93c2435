/**
 * Headless Chromium for the browser tests (Debian's `chromium` at /usr/bin/chromium, driven by
 * playwright-core); a missing browser fails loudly, never skips.
 *
 * @module
 */
import { type Browser, chromium } from "playwright-core";

/** Where the browser lives. */
export const CHROMIUM = "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Starts headless Chromium, or fails saying why. */
export async function launchChromium(): Promise<Browser> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `Cannot run the browser test: ${CHROMIUM} does not exist. ` +
        "Install it with: apt-get update && apt-get install -y chromium",
    );
  }
  try {
    return await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      timeout: 60_000,
    });
  } catch (error) {
    throw new Error(`Cannot run the browser test: Chromium did not start`, { cause: error });
  }
}
