/**
 * Password hashing with scrypt from `node:crypto`: a random 16-byte salt per password, cost
 * N = 16384, r = 8, p = 1 (16 MiB and ≈ 50 ms per hash here), a 32-byte key, compared in constant
 * time. Only the salt, the parameters and the key are stored; never the password.
 *
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** What is stored for one password. */
export interface PasswordHash {
  /** Hex of the random salt. */
  salt: string;
  /** Hex of the derived key. */
  hash: string;
  /** scrypt cost parameter. */
  N: number;
  /** scrypt block size. */
  r: number;
  /** scrypt parallelism. */
  p: number;
}

/** scrypt parameters used for new passwords. */
export const SCRYPT_PARAMS = { N: 16384, r: 8, p: 1, keyBytes: 32 } as const;

/**
 * At most this many scrypt hashes run at once (each takes 16 MiB and a core for ≈ 50 ms); the
 * rest wait their turn, so a burst of logins cannot exhaust the tracker's memory or starve its
 * other requests.
 */
export const MAX_CONCURRENT_HASHES = 2;

let running = 0;
const waiting: Array<() => void> = [];

async function derive(
  password: string,
  salt: Uint8Array,
  N: number,
  r: number,
  p: number,
): Promise<Uint8Array> {
  if (running >= MAX_CONCURRENT_HASHES) {
    await new Promise<void>((resolve) => waiting.push(resolve));
  }
  running++;
  try {
    return await new Promise((resolve, reject) => {
      scrypt(
        password,
        salt,
        SCRYPT_PARAMS.keyBytes,
        { N, r, p, maxmem: 256 * N * r },
        (err, key) => {
          if (err) reject(err);
          else resolve(new Uint8Array(key));
        },
      );
    });
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/**
 * Hashes a password with a fresh random salt.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashPassword, verifyPassword } from "./password.ts";
 * const stored = await hashPassword("correct horse");
 * assert.ok(await verifyPassword("correct horse", stored));
 * ```
 */
export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = new Uint8Array(randomBytes(16));
  const { N, r, p } = SCRYPT_PARAMS;
  const key = await derive(password, salt, N, r, p);
  return { salt: salt.toHex(), hash: key.toHex(), N, r, p };
}

/** Whether `password` matches `stored`, compared in constant time. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const key = await derive(password, Uint8Array.fromHex(stored.salt), stored.N, stored.r, stored.p);
  const expected = Uint8Array.fromHex(stored.hash);
  return key.length === expected.length && timingSafeEqual(key, expected);
}
