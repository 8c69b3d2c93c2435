/**
 * The downloader's ephemeral Ed25519 key pair: made once per process, never stored. Its public
 * key goes to the tracker with each `details`, which binds the read ticket to it; its private
 * key signs the proof shown with the ticket on each peer connection, so a ticket is worth
 * nothing to anyone who sees it but does not hold this key.
 *
 * @module
 */
import { exportPublicKey, newSigningKeys, proveTicket } from "../protocol/mod.ts";

/**
 * One ephemeral key pair.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DownloaderKey } from "./downloader_key.ts";
 * const key = await DownloaderKey.generate();
 * assert.equal(key.publicKey.length, 43);
 * ```
 */
export class DownloaderKey {
  /** The public key, 43 base64url characters, sent in `details`. */
  readonly publicKey: string;
  readonly #privateKey: CryptoKey;

  private constructor(publicKey: string, privateKey: CryptoKey) {
    this.publicKey = publicKey;
    this.#privateKey = privateKey;
  }

  /** A fresh pair whose private key cannot be exported. */
  static async generate(): Promise<DownloaderKey> {
    const pair = await newSigningKeys();
    const publicKey = await exportPublicKey(pair.publicKey);
    const privateKey = await crypto.subtle.importKey(
      "pkcs8",
      await crypto.subtle.exportKey("pkcs8", pair.privateKey),
      { name: "Ed25519" },
      false,
      ["sign"],
    );
    return new DownloaderKey(publicKey, privateKey);
  }

  /** The proof for `ticket` on the connection whose `hello` gave `challenge`. */
  async prove(ticket: string, challenge: string): Promise<string> {
    return await proveTicket(ticket, challenge, this.#privateKey);
  }
}

let processKey: Promise<DownloaderKey> | undefined;

/** This process's downloader key, made on first use. */
export function processDownloaderKey(): Promise<DownloaderKey> {
  processKey ??= DownloaderKey.generate().catch((error) => {
    processKey = undefined;
    throw error;
  });
  return processKey;
}
