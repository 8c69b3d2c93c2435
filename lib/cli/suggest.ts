/**
 * "Did you mean": the known word nearest to a mistyped one (`lst` → `list`, `--jsn` → `--json`).
 *
 * @module
 */

/**
 * The candidate nearest to `word` by edits (insert, delete, replace, swap two neighbours), if it
 * is near enough to be a slip: at most one edit for short words, a third of the length for long
 * ones. A word that starts exactly one candidate suggests that candidate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nearest } from "./suggest.ts";
 * assert.equal(nearest("lst", ["list", "get", "ping"]), "list");
 * assert.equal(nearest("--jsn", ["--json", "--all"]), "--json");
 * assert.equal(nearest("fly", ["list", "get"]), undefined);
 * ```
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const starting = candidates.filter((c) => word.length >= 2 && c.startsWith(word));
  if (starting.length === 1) return starting[0];
  const limit = Math.max(1, Math.floor(word.replace(/^-+/, "").length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/**
 * Edits that turn `a` into `b` (optimal string alignment: insert, delete, replace, swap).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { editDistance } from "./suggest.ts";
 * assert.equal(editDistance("lsit", "list"), 1);
 * ```
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
