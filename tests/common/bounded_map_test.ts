import assert from "node:assert/strict";
import fc from "fast-check";
import { BoundedMap } from "../../lib/common/bounded_map.ts";

Deno.test("a bounded map behaves as a least-recently-used list of its capacity", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.tuple(fc.constantFrom("get", "set", "delete", "peek"), fc.nat(8)), {
        maxLength: 60,
      }),
      (capacity, steps) => {
        const evicted: number[] = [];
        const map = new BoundedMap<number, number>(capacity, (key) => evicted.push(key));
        const model: number[] = []; // keys, least recently used first
        const modelEvicted: number[] = [];
        for (const [op, key] of steps) {
          if (op === "set") {
            const at = model.indexOf(key);
            if (at >= 0) model.splice(at, 1);
            else if (model.length === capacity) modelEvicted.push(model.shift()!);
            model.push(key);
            map.set(key, key * 10);
          } else if (op === "get") {
            const at = model.indexOf(key);
            if (at >= 0) model.push(...model.splice(at, 1));
            assert.equal(map.get(key), at >= 0 ? key * 10 : undefined);
          } else if (op === "peek") {
            assert.equal(map.peek(key), model.includes(key) ? key * 10 : undefined);
          } else {
            const at = model.indexOf(key);
            if (at >= 0) model.splice(at, 1);
            assert.equal(map.delete(key), at >= 0);
          }
          assert.ok(map.size <= capacity);
          assert.deepEqual([...map.keys()], model);
        }
        assert.deepEqual(evicted, modelEvicted);
      },
    ),
  );
});

Deno.test("a bounded map refuses a capacity below one", () => {
  assert.throws(() => new BoundedMap(0), RangeError);
  assert.throws(() => new BoundedMap(1.5), RangeError);
});
