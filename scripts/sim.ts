/**
 * `deno task sim [RUNS] [FIRST_SEED]`: runs the swarm simulator over seeded random scenarios and
 * prints what the swarm's promises and speed look like over them: broken promises (none
 * expected), and for calm scenarios (no churn, no liars) the last finish of each round against the
 * Kumar–Ross lower bound, median and worst. The figures go in `docs/benchmarks.md`.
 *
 * @module
 */
import {
  allowedFinish,
  isCalm,
  scenarioFrom,
  simulate,
  violations,
} from "../tests/sim/_swarm_sim.ts";

const runs = Number(Deno.args[0] ?? 2000);
const first = Number(Deno.args[1] ?? 1);

interface Row {
  seed: number;
  chunks: number;
  peers: number;
  ratio: number;
  ofAllowed: number;
}

const rows: Row[] = [];
let broken = 0, downloads = 0, stalls = 0, lies = 0, blames = 0;
const started = performance.now();
for (let seed = first; seed < first + runs; seed++) {
  const scenario = scenarioFrom(seed);
  const outcome = await simulate(scenario);
  const problems = violations(scenario, outcome);
  if (problems.length > 0) {
    broken++;
    console.log(`scenario ${seed}: ${problems.join("; ")}`);
  }
  downloads += outcome.downloads.length;
  stalls += outcome.downloads.filter((d) => d.stalled).length;
  lies += outcome.lies.length;
  blames += outcome.blames.length;
  if (!isCalm(scenario)) continue;
  const chunks = Math.ceil(scenario.size / scenario.chunkSize);
  for (const round of outcome.rounds) {
    if (round.lastFinish === null || round.bound <= 0) continue;
    rows.push({
      seed,
      chunks,
      peers: scenario.downloaders.length,
      ratio: round.lastFinish / round.bound,
      ofAllowed: round.lastFinish / allowedFinish(scenario),
    });
  }
}
const seconds = (performance.now() - started) / 1000;

function summary(label: string, picked: Row[]): string {
  if (picked.length === 0) return `${label}: none`;
  const ratios = picked.map((r) => r.ratio).sort((a, b) => a - b);
  const worst = picked.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  const q = (p: number) => ratios[Math.min(ratios.length - 1, Math.floor(p * ratios.length))]!;
  return `${label}: ${picked.length} rounds; last finish / Kumar–Ross bound: median ${
    q(0.5).toFixed(2)
  }, p90 ${q(0.9).toFixed(2)}, worst ${
    worst.ratio.toFixed(2)
  } (scenario ${worst.seed}, ${worst.peers} peers, ${worst.chunks} chunks)`;
}

console.log(
  `${runs} scenarios from seed ${first} in ${seconds.toFixed(1)} s: ${broken} broke a promise; ` +
    `${downloads} downloads, ${stalls} true stalls, ${lies} lies taken, ${blames} blames`,
);
console.log(summary("calm, 8+ chunks", rows.filter((r) => r.chunks >= 8)));
console.log(summary("calm, 32+ chunks", rows.filter((r) => r.chunks >= 32)));
console.log(
  summary("calm, 8+ chunks, 10+ peers", rows.filter((r) => r.chunks >= 8 && r.peers >= 10)),
);
const worstAllowed = rows.reduce((a, b) => (b.ofAllowed > a.ofAllowed ? b : a));
const over = rows.filter((r) => r.ofAllowed > 1).length;
console.log(
  `calm, all sizes: last finish over the allowed 6 x (bound + one chunk time) + 3 s in ${over} of ${rows.length} rounds; worst ${
    worstAllowed.ofAllowed.toFixed(2)
  } of it (scenario ${worstAllowed.seed}, ${worstAllowed.peers} peers, ${worstAllowed.chunks} chunks)`,
);
if (broken > 0) Deno.exit(1);
