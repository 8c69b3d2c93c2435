/**
 * Password hashing with scrypt from `node:crypto`: a random 16-byte salt per password, cost
 * N = 16384, r = 8, p = 1 (16 MiB and ≈ 50 ms per hash here), a 32-byte key, compared in constant
 * time. Only the salt, the parameters and the key are stored; never the password.
 *
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { CodedError } from "../common/mod.ts";
import { MAX_CONCURRENT_HASHES, MAX_WAITING_HASHES } from "../protocol/mod.ts";

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
 * Thrown when the queue of waiting hashes is full; the tracker answers `BUSY`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HashBusyError } from "./password.ts";
 * assert.equal(new HashBusyError().code, "BUSY");
 * ```
 */
export class HashBusyError extends CodedError<"BUSY"> {
  /** The class name, `HashBusyError`, for logs and `String(error)`. */
  override readonly name = "HashBusyError";
  /** Builds the error, always `BUSY`. */
  constructor() {
    super(
      "BUSY",
      "Cannot check password now: too many password checks are waiting; try again shortly",
    );
  }
}

/** What the tracker needs from password hashing; tests may wrap it to count the calls. */
export interface PasswordHasher {
  /** Hashes a password with a fresh random salt; may throw {@link HashBusyError}. */
  hash(password: string): Promise<PasswordHash>;
  /** Whether `password` matches `stored`; may throw {@link HashBusyError}. */
  verify(password: string, stored: PasswordHash): Promise<boolean>;
}

/** Settings of a {@link ScryptHasher}; each defaults to the constant of that name. */
export interface ScryptHasherOptions {
  /** {@link MAX_CONCURRENT_HASHES}. */
  maxConcurrent?: number;
  /** {@link MAX_WAITING_HASHES}. */
  maxWaiting?: number;
  /**
   * The key derivation run inside the bounds; default scrypt. Tests of the bounds may pass one they
   * hold open.
   */
  derive?: (password: string, salt: Uint8Array, params: ScryptParams) => Promise<Uint8Array>;
}

/** The cost parameters of one scrypt derivation. */
export interface ScryptParams {
  /** Cost. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelism. */
  p: number;
}

/** scrypt of `password` and `salt` into a {@link SCRYPT_PARAMS}.keyBytes key. */
function scryptKey(password: string, salt: Uint8Array, { N, r, p }: ScryptParams) {
  return new Promise<Uint8Array>((resolve, reject) => {
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
}

/**
 * scrypt hashing with at most `maxConcurrent` hashes running and `maxWaiting` waiting; beyond
 * that a call fails at once with {@link HashBusyError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ScryptHasher } from "./password.ts";
 * const hasher = new ScryptHasher({ maxConcurrent: 1, maxWaiting: 0 });
 * const results = await Promise.allSettled([hasher.hash("password1"), hasher.hash("password2")]);
 * assert.equal(results[0].status, "fulfilled");
 * assert.equal(results[1].status, "rejected");
 * ```
 */
export class ScryptHasher implements PasswordHasher {
  readonly #maxConcurrent: number;
  readonly #maxWaiting: number;
  readonly #kdf: (password: string, salt: Uint8Array, params: ScryptParams) => Promise<Uint8Array>;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  /** A hasher with the given bounds. */
  constructor(options: ScryptHasherOptions = {}) {
    this.#maxConcurrent = options.maxConcurrent ?? MAX_CONCURRENT_HASHES;
    this.#maxWaiting = options.maxWaiting ?? MAX_WAITING_HASHES;
    this.#kdf = options.derive ?? scryptKey;
  }

  /** How many hashes are running and how many wait. */
  get load(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length };
  }

  async hash(password: string): Promise<PasswordHash> {
    const salt = new Uint8Array(randomBytes(16));
    const { N, r, p } = SCRYPT_PARAMS;
    const key = await this.#derive(password, salt, N, r, p);
    return { salt: salt.toHex(), hash: key.toHex(), N, r, p };
  }

  async verify(password: string, stored: PasswordHash): Promise<boolean> {
    const salt = Uint8Array.fromHex(stored.salt);
    const key = await this.#derive(password, salt, stored.N, stored.r, stored.p);
    const expected = Uint8Array.fromHex(stored.hash);
    return key.length === expected.length && timingSafeEqual(key, expected);
  }

  async #derive(
    password: string,
    salt: Uint8Array,
    N: number,
    r: number,
    p: number,
  ): Promise<Uint8Array> {
    if (this.#running >= this.#maxConcurrent) {
      if (this.#waiting.length >= this.#maxWaiting) throw new HashBusyError();
      // A finishing hash hands its slot straight to the first waiter.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await this.#kdf(password, salt, { N, r, p });
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

/** The hasher {@link hashPassword} and {@link verifyPassword} share. */
const shared = new ScryptHasher();

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
export function hashPassword(password: string): Promise<PasswordHash> {
  return shared.hash(password);
}

/** Whether `password` matches `stored`, compared in constant time. */
export function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  return shared.verify(password, stored);
}
