/**
 * Session tokens: 32 random bytes, sent as base64url, stored only as their SHA-256.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";

/**
 * Makes a new random session token (43 base64url characters).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newToken } from "./token.ts";
 * assert.ok(newToken().length === 43);
 * ```
 */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** The SHA-256 hex of a token: the only form the store keeps. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
