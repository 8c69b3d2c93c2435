/**
 * The swarm's promises, checked by the deterministic simulator (`_swarm_sim.ts`) over seeded
 * random scenarios. A failure prints the scenario as JSON; replay it alone with
 * `SIM_SCENARIO='<json>' deno test -A tests/sim/swarm_sim_test.ts` (or a seed with
 * `SIM_SEED=<n>`), and add `SIM_DEBUG=1` to see every message.
 */
import assert from "node:assert/strict";
import {
  allowedFinish,
  isCalm,
  type Outcome,
  type Scenario,
  scenarioFrom,
  simulate,
  violations,
} from "./_swarm_sim.ts";

/** Scenarios per run of the property (CI runs this many; `SIM_RUNS` for more). */
const RUNS = Number(Deno.env.get("SIM_RUNS") ?? 500);

/** The first scenario's seed (`SIM_SEED_BASE` to explore other scenarios). */
const BASE = Number(Deno.env.get("SIM_SEED_BASE") ?? 1);

/** What a failing scenario prints: enough to replay it and see why. */
function report(scenario: Scenario, outcome: Outcome, problems: string[]): string {
  return [
    `scenario ${scenario.seed}: ${problems.join("; ")}`,
    `replay: SIM_SCENARIO='${JSON.stringify(scenario)}' deno test -A tests/sim/swarm_sim_test.ts`,
    "last events:",
    ...outcome.log.slice(-25),
  ].join("\n");
}

const replay = Deno.env.get("SIM_SCENARIO") ?? Deno.env.get("SIM_SEED");

if (replay !== undefined) {
  Deno.test("the replayed scenario keeps every promise of the swarm", async () => {
    const scenario: Scenario = /^\d+$/.test(replay)
      ? scenarioFrom(Number(replay))
      : JSON.parse(replay);
    const outcome = await simulate(scenario);
    const problems = violations(scenario, outcome);
    assert.deepEqual(problems, [], report(scenario, outcome, problems));
  });
} else {
  Deno.test("the simulator replays a scenario exactly: same scenario, same outcome", async () => {
    // A busy one: churn, liars and two rounds.
    let scenario = scenarioFrom(BASE);
    for (let seed = BASE; !(scenario.liars.length > 0 && !isCalm(scenario)); seed++) {
      scenario = scenarioFrom(seed);
    }
    const first = await simulate(scenario);
    const second = await simulate(structuredClone(scenario));
    assert.deepEqual(second, first);
    assert.ok(first.downloads.length > 0);
  });

  Deno.test(`${RUNS} random swarms: every honest download ends with the right bytes or a true stall, no honest source is blamed, every liar is`, async () => {
    const failures: string[] = [];
    let finished = 0, stalled = 0, lies = 0, blamed = 0, rounds = 0, churned = 0;
    for (let seed = BASE; seed < BASE + RUNS; seed++) {
      const scenario = scenarioFrom(seed);
      const outcome = await simulate(scenario);
      const problems = violations(scenario, outcome);
      if (problems.length > 0) failures.push(report(scenario, outcome, problems));
      finished += outcome.downloads.filter((d) => d.finishedAt !== undefined).length;
      stalled += outcome.downloads.filter((d) => d.stalled).length;
      lies += outcome.lies.length;
      blamed += outcome.blames.length;
      if (scenario.rounds > 1) rounds++;
      if (!isCalm(scenario)) churned++;
    }
    assert.deepEqual(failures, [], failures.slice(0, 3).join("\n\n"));
    // The scenarios reach every case the properties speak of (none holds vacuously).
    assert.ok(finished > RUNS, `${finished} downloads finished`);
    assert.ok(stalled > 0, "no scenario stalled: the stall rule went untested");
    assert.ok(lies > 0 && blamed >= lies / 10, `${lies} lies taken, ${blamed} blames`);
    assert.ok(rounds > RUNS / 10 && churned > RUNS / 10, `${rounds} multi-round, ${churned} churn`);
  });

  Deno.test("calm swarms (no churn, no liars) finish within the stated factor of the Kumar–Ross bound", async () => {
    const slow: string[] = [];
    let calm = 0;
    for (let seed = BASE; seed < BASE + RUNS; seed++) {
      const scenario = scenarioFrom(seed);
      if (!isCalm(scenario)) continue;
      calm++;
      const outcome = await simulate(scenario);
      const allowed = allowedFinish(scenario);
      outcome.rounds.forEach((round, i) => {
        if (round.lastFinish !== null && round.lastFinish > allowed) {
          slow.push(
            `${
              report(scenario, outcome, [
                `round ${i + 1} finished at ${Math.round(round.lastFinish)} ms, allowed ${
                  Math.round(allowed)
                } ms (bound ${Math.round(round.bound)} ms)`,
              ])
            }`,
          );
        }
      });
    }
    assert.ok(calm > RUNS / 3, `${calm} calm scenarios`);
    assert.deepEqual(slow, [], slow.slice(0, 2).join("\n\n"));
  });
}
