/**
 * Read tickets: the tracker's signed word that a user may read one file version from peers, and
 * the downloader's proof that the ticket is its own.
 *
 * A ticket is `base64url(JSON payload) + "." + base64url(signature)`, unpadded. The payload names
 * the `user` it was issued to, the `version` (manifest id) it opens, the downloader's ephemeral
 * Ed25519 public `key`, and `expiresAt` (ms since the epoch). The signature is the tracker's
 * Ed25519 signature of `"p2pfs-ticket-1\n" + <payload part>`, so the exact bytes signed travel in
 * the ticket and nothing needs a canonical JSON form.
 *
 * A ticket alone is not enough: on each connection the serving peer's `hello` carries a random
 * `challenge`, and the downloader signs `"p2pfs-ticket-proof-1\n" + challenge + "\n" + ticket`
 * with the key the ticket names. A ticket seen by someone else (a log, a peer it was shown to) is
 * useless without that key, and a proof made for one connection is useless on another.
 *
 * Encode and decode sit side by side; every decode is bounds-checked and throws a `BAD_MESSAGE`
 * {@link ProtocolError}; {@link verifyTicket} throws a {@link TicketError} saying why a
 * well-formed ticket is refused.
 *
 * @module
 */
import { CodedError } from "../common/mod.ts";
import { ProtocolError } from "./errors.ts";
import { MAX_TICKET_CHARS } from "./limits.ts";
import { USERNAME_PATTERN } from "./messages.ts";
import { int, object, str } from "./schema.ts";

/** What a ticket says. */
export interface TicketPayload {
  /** Who it was issued to. */
  user: string;
  /** The manifest id of the version it opens. */
  version: string;
  /** The downloader's ephemeral Ed25519 public key, base64url (43 characters). */
  key: string;
  /** When it stops opening new connections, ms since the epoch. */
  expiresAt: number;
}

/** A ticket taken apart (not yet verified). */
export interface DecodedTicket {
  /** What it says. */
  payload: TicketPayload;
  /** The bytes the tracker signed. */
  signed: Uint8Array<ArrayBuffer>;
  /** The tracker's signature. */
  signature: Uint8Array<ArrayBuffer>;
}

/** Why a well-formed ticket or proof is refused; becomes a `FORBIDDEN` reply. */
export class TicketError extends CodedError<"FORBIDDEN"> {
  /** The class name, `TicketError`, for logs and `String(error)`. */
  override readonly name = "TicketError";
  /** Builds the error, always `FORBIDDEN`; `message` follows "Cannot X: why". */
  constructor(message: string) {
    super("FORBIDDEN", message);
  }
}

const ED25519 = { name: "Ed25519" } as const;
const TICKET_TAG = "p2pfs-ticket-1\n";
const PROOF_TAG = "p2pfs-ticket-proof-1\n";
const B64URL = { alphabet: "base64url", omitPadding: true } as const;
const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

const payloadSchema = object({
  user: str({ min: 1, max: 32, pattern: USERNAME_PATTERN, describe: "a user name" }),
  version: str({ min: 64, max: 64, pattern: /^[0-9a-f]{64}$/, describe: "64 hex digits" }),
  key: str({ min: 43, max: 43, pattern: /^[A-Za-z0-9_-]{43}$/, describe: "a base64url key" }),
  expiresAt: int(),
});

function bad(why: string): never {
  throw new ProtocolError("BAD_MESSAGE", `Cannot read ticket: ${why}`);
}

/** Unpadded base64url of `bytes`. */
export function toBase64Url(bytes: Uint8Array): string {
  return bytes.toBase64(B64URL);
}

/**
 * Decodes unpadded base64url of exactly `length` bytes, refusing any other spelling (so one value
 * has one text form), or throws `BAD_MESSAGE`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromBase64Url } from "./ticket.ts";
 * assert.deepEqual(fromBase64Url("AAE", 2), new Uint8Array([0, 1]));
 * assert.throws(() => fromBase64Url("AAF", 2)); // not the canonical spelling
 * ```
 */
export function fromBase64Url(
  text: string,
  length: number,
  what = "value",
): Uint8Array<ArrayBuffer> {
  if (text.length !== Math.ceil((length * 4) / 3) || !/^[A-Za-z0-9_-]*$/.test(text)) {
    bad(`${what} must be ${length} bytes in unpadded base64url`);
  }
  const bytes = Uint8Array.fromBase64(text, { alphabet: "base64url" });
  if (bytes.length !== length || toBase64Url(bytes) !== text) {
    bad(`${what} must be ${length} bytes in canonical base64url`);
  }
  return bytes;
}

/**
 * Takes a ticket apart, checking its length, both halves' encoding, the payload's JSON and every
 * field; the signature is not checked here (see {@link verifyTicket}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeTicket } from "./ticket.ts";
 * assert.throws(() => decodeTicket("no-dot-here"));
 * ```
 */
export function decodeTicket(ticket: string): DecodedTicket {
  if (typeof ticket !== "string" || ticket.length > MAX_TICKET_CHARS) {
    bad(`it must be a string of at most ${MAX_TICKET_CHARS} characters`);
  }
  const dot = ticket.indexOf(".");
  if (dot <= 0 || dot !== ticket.lastIndexOf(".")) bad("it must be two parts joined by one dot");
  const head = ticket.slice(0, dot);
  const signature = fromBase64Url(ticket.slice(dot + 1), 64, "the signature");
  // A length of 4n + 1 characters is not whole bytes and cannot be decoded.
  if (!/^[A-Za-z0-9_-]+$/.test(head) || head.length % 4 === 1) {
    bad("the payload must be base64url");
  }
  const bytes = Uint8Array.fromBase64(head, { alphabet: "base64url" });
  if (toBase64Url(bytes) !== head) bad("the payload is not canonical base64url");
  let json: unknown;
  try {
    json = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    bad("the payload is not UTF-8 JSON");
  }
  const payload = payloadSchema(json, "ticket");
  return { payload, signed: encoder.encode(TICKET_TAG + head), signature };
}

/**
 * Signs `payload` with the tracker's private key and returns the ticket text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeTicket, newSigningKeys, signTicket } from "./ticket.ts";
 * const tracker = await newSigningKeys();
 * const payload = { user: "ann", version: "a".repeat(64), key: "A".repeat(43), expiresAt: 1 };
 * const ticket = await signTicket(payload, tracker.privateKey);
 * assert.deepEqual(decodeTicket(ticket).payload, payload);
 * ```
 */
export async function signTicket(payload: TicketPayload, privateKey: CryptoKey): Promise<string> {
  const { user, version, key, expiresAt } = payloadSchema(payload, "ticket");
  const head = toBase64Url(encoder.encode(JSON.stringify({ user, version, key, expiresAt })));
  const signature = await crypto.subtle.sign(
    ED25519,
    privateKey,
    encoder.encode(TICKET_TAG + head),
  );
  const ticket = `${head}.${toBase64Url(new Uint8Array(signature))}`;
  if (ticket.length > MAX_TICKET_CHARS) {
    throw new RangeError(
      `Cannot sign ticket: ${ticket.length} characters exceed ${MAX_TICKET_CHARS}`,
    );
  }
  return ticket;
}

/** The bytes a downloader signs to prove it holds a ticket's key on one connection. */
function proofInput(challenge: string, ticket: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${PROOF_TAG}${challenge}\n${ticket}`);
}

/**
 * The downloader's proof for `ticket` on the connection whose `hello` gave `challenge`: its
 * signature, with the ticket's key, of the challenge and the ticket.
 */
export async function proveTicket(
  ticket: string,
  challenge: string,
  privateKey: CryptoKey,
): Promise<string> {
  const signature = await crypto.subtle.sign(ED25519, privateKey, proofInput(challenge, ticket));
  return toBase64Url(new Uint8Array(signature));
}

/** What {@link verifyTicket} checks a ticket against. */
export interface TicketCheck {
  /** The tracker's public key, pinned at login. */
  trackerKey: CryptoKey;
  /** The challenge this connection's `hello` reply gave. */
  challenge: string;
  /** The downloader's proof for this ticket and challenge. */
  proof: string;
  /** The time now, ms since the epoch. */
  now: number;
}

/**
 * Checks a ticket shown on a connection: well-formed, signed by the tracker, not expired, and
 * proven by the holder of the key it names for this connection's challenge. Resolves to its
 * payload; throws `BAD_MESSAGE` for a malformed ticket and {@link TicketError} for a refused one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   exportPublicKey, newChallenge, newSigningKeys, proveTicket, signTicket, verifyTicket,
 * } from "./ticket.ts";
 * const tracker = await newSigningKeys();
 * const mine = await newSigningKeys();
 * const payload = {
 *   user: "ann", version: "a".repeat(64), key: await exportPublicKey(mine.publicKey),
 *   expiresAt: Date.now() + 60_000,
 * };
 * const ticket = await signTicket(payload, tracker.privateKey);
 * const challenge = newChallenge();
 * const proof = await proveTicket(ticket, challenge, mine.privateKey);
 * const ok = await verifyTicket(ticket, {
 *   trackerKey: tracker.publicKey, challenge, proof, now: Date.now(),
 * });
 * assert.equal(ok.user, "ann");
 * ```
 */
export async function verifyTicket(ticket: string, check: TicketCheck): Promise<TicketPayload> {
  const { payload, signed, signature } = decodeTicket(ticket);
  const proof = fromBase64Url(check.proof, 64, "the proof");
  if (!(await crypto.subtle.verify(ED25519, check.trackerKey, signature, signed))) {
    throw new TicketError("Cannot accept ticket: it is not signed by this peer's tracker");
  }
  if (payload.expiresAt <= check.now) {
    throw new TicketError(
      `Cannot accept ticket: it expired ${
        Math.ceil((check.now - payload.expiresAt) / 1000)
      } s ago; ask the tracker for details again`,
    );
  }
  const holder = await importPublicKey(payload.key);
  if (!(await crypto.subtle.verify(ED25519, holder, proof, proofInput(check.challenge, ticket)))) {
    throw new TicketError(
      "Cannot accept ticket: the proof is not signed by the key the ticket was issued to",
    );
  }
  return payload;
}

/** A fresh Ed25519 key pair (extractable, so the tracker can keep it in KV). */
export async function newSigningKeys(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"]) as CryptoKeyPair;
}

/** An Ed25519 public key as 43 base64url characters. */
export async function exportPublicKey(key: CryptoKey): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.exportKey("raw", key)));
}

/** Imports a 43-character base64url Ed25519 public key for verifying, or throws `BAD_MESSAGE`. */
export async function importPublicKey(text: string): Promise<CryptoKey> {
  const raw = fromBase64Url(text, 32, "the key");
  try {
    return await crypto.subtle.importKey("raw", raw, ED25519, true, ["verify"]);
  } catch {
    bad("the key is not an Ed25519 public key");
  }
}

/** A random connection challenge: 32 bytes in base64url. */
export function newChallenge(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}
