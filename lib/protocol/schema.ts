/**
 * A tiny validator kit for control messages: each schema is a function that returns the value
 * typed, or throws a `BAD_MESSAGE` {@link ProtocolError} naming the offending field.
 *
 * A message's type is declared once, with a comment on each field, and its schema is built with
 * {@link objectOf}, which the compiler checks against that type field by field: a field the
 * schema lacks or adds, an optional field made required, or a looser check than the type is an
 * error. So the documented type, the schema and the clients that send it cannot drift apart.
 *
 * @module
 */
import { ProtocolError } from "./errors.ts";

/** Checks `value` found at `path` and returns it typed. */
export type Schema<T> = (value: unknown, path: string) => T;

/** A schema whose field may be absent. */
export type OptionalSchema<T> = Schema<T | undefined> & { readonly optional: true };

/** The type a schema returns. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

/** A schema of any type. */
// deno-lint-ignore no-explicit-any
export type AnySchema = Schema<any>;
/** The fields of an object schema. */
export type Shape = Record<string, AnySchema>;
/** The fields of a shape that may be left out. */
export type OptionalKeys<S extends Shape> = {
  [K in keyof S]: S[K] extends { readonly optional: true } ? K : never;
}[keyof S];

/** The object type described by a shape; optional fields become optional properties. */
export type ObjectOf<S extends Shape> =
  & { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> }
  & { [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined> };

function fail(path: string, expected: string): never {
  throw new ProtocolError("BAD_MESSAGE", `Cannot accept message: ${path} must be ${expected}`);
}

/** Options for {@link str}. */
export interface StringRules {
  /** Shortest length in UTF-16 units (default 0). */
  min?: number;
  /** Longest length in UTF-16 units (default 4096). */
  max?: number;
  /** A pattern the whole string must match. */
  pattern?: RegExp;
  /** Human words for the pattern, used in the error message. */
  describe?: string;
}

/**
 * A string within length bounds, optionally matching a pattern.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { str } from "./schema.ts";
 * assert.ok(str({ max: 3 })("abc", "name") === "abc");
 * ```
 */
export function str(rules: StringRules = {}): Schema<string> {
  const min = rules.min ?? 0;
  const max = rules.max ?? 4096;
  return (value, path) => {
    if (typeof value !== "string") fail(path, "a string");
    if (value.length < min || value.length > max) {
      fail(path, `a string of ${min} to ${max} characters`);
    }
    if (rules.pattern && !rules.pattern.test(value)) {
      fail(path, rules.describe ?? `${rules.pattern}`);
    }
    return value;
  };
}

/**
 * A safe integer within bounds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { int } from "./schema.ts";
 * assert.ok(int({ min: 1 })(5, "port") === 5);
 * ```
 */
export function int(rules: { min?: number; max?: number } = {}): Schema<number> {
  const min = rules.min ?? 0;
  const max = rules.max ?? Number.MAX_SAFE_INTEGER;
  return (value, path) => {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
      fail(path, `an integer from ${min} to ${max}`);
    }
    return value;
  };
}

/**
 * A finite number within bounds (fractions allowed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { num } from "./schema.ts";
 * assert.equal(num({ min: 0 })(0.5, "share"), 0.5);
 * ```
 */
export function num(rules: { min?: number; max?: number } = {}): Schema<number> {
  const min = rules.min ?? -Number.MAX_VALUE;
  const max = rules.max ?? Number.MAX_VALUE;
  return (value, path) => {
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
      fail(path, `a number from ${min} to ${max}`);
    }
    return value;
  };
}

/** A boolean. */
export function bool(): Schema<boolean> {
  return (value, path) => typeof value === "boolean" ? value : fail(path, "true or false");
}

/** Exactly one of the given string values. */
export function oneOf<const T extends readonly string[]>(...values: T): Schema<T[number]> {
  return (value, path) =>
    typeof value === "string" && values.includes(value)
      ? value as T[number]
      : fail(path, `one of ${values.join(", ")}`);
}

/** An array of at most `max` items, each checked by `item`. */
export function array<T>(item: Schema<T>, rules: { max?: number } = {}): Schema<T[]> {
  const max = rules.max ?? 10_000;
  return (value, path) => {
    if (!Array.isArray(value)) fail(path, "an array");
    if (value.length > max) fail(path, `an array of at most ${max} items`);
    return Array.from(value, (v, i) => item(v, `${path}[${i}]`));
  };
}

/** Marks a field as optional: absent (or `undefined`) passes, anything else is checked. */
export function optional<T>(schema: Schema<T>): OptionalSchema<T> {
  const checked =
    ((value: unknown, path: string) =>
      value === undefined ? undefined : schema(value, path)) as OptionalSchema<T>;
  return Object.assign(checked, { optional: true as const });
}

/**
 * The schemas that check an object of type `T`, field by field: an optional field of `T` needs an
 * {@link optional} schema, a required one a plain schema of its type.
 */
export type ShapeOf<T> = {
  // deno-lint-ignore ban-types
  [K in keyof T]-?: {} extends Pick<T, K> ? OptionalSchema<Exclude<T[K], undefined>>
    : Schema<T[K]>;
};

/**
 * A plain object of the declared type `T`, with a schema for each of its fields (checked by the
 * compiler, see {@link ShapeOf}); unknown fields are dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { int, objectOf, optional, str } from "./schema.ts";
 * interface Point {
 *   x: number; // across
 *   label?: string; // what to call it
 * }
 * const point = objectOf<Point>({ x: int(), label: optional(str()) });
 * assert.deepEqual(point({ x: 1, extra: true }, "msg"), { x: 1 });
 * ```
 */
export function objectOf<T>(shape: ShapeOf<T>): Schema<T> {
  return object(shape as Shape) as Schema<T>;
}

/**
 * A plain object with the given fields; unknown fields are dropped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { int, object, optional, str } from "./schema.ts";
 * const point = object({ x: int(), label: optional(str()) });
 * assert.ok(point({ x: 1, extra: true }, "msg").x === 1);
 * ```
 */
export function object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  return (value, path) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      fail(path, "an object");
    }
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(shape)) {
      const checked = schema(source[key], `${path}.${key}`);
      if (checked !== undefined) out[key] = checked;
    }
    return out as ObjectOf<S>;
  };
}
