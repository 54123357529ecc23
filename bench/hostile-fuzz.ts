import { FUZZ_SEEDS } from "../test/hostile/fuzz-seeds.js";
import { isServerFault, runFuzz } from "../test/hostile/run-fuzz.js";
import { createHostileClient } from "../test/hostile/send-row.js";
import { numberArg, startHostileServer } from "./hostile-server.js";

/**
 * The long hostile fuzz (issue 16): the test suite's seeded mutations of every
 * protocol, round after round with a new seed, for `--minutes` (default 3) against
 * a separate inferd process. Prints one line per round and a table: requests, server
 * faults (INTERNAL, UNKNOWN, HTTP 500, no answer), RSS.
 * Run: `npx tsx bench/hostile-fuzz.ts [--minutes 3] [--per-seed 500] [--seed 1]`.
 */
async function main(): Promise<void> {
  const minutes = numberArg("minutes", 3);
  const perSeed = numberArg("per-seed", 500);
  let seed = numberArg("seed", 1);
  const hostile = await startHostileServer();
  const client = createHostileClient(hostile.server.port);
  const until = Date.now() + minutes * 60_000;
  const totals = { sent: 0, faults: 0, rounds: 0 };
  const rssStart = await hostile.rssMiB();
  try {
    while (Date.now() < until) {
      const report = await runFuzz(client, { seed, perSeed });
      totals.sent += report.sent;
      totals.faults += report.faults.length;
      totals.rounds++;
      for (const fault of report.faults.slice(0, 3)) console.log("FAULT", JSON.stringify(fault));
      console.log(
        `round ${totals.rounds} seed ${seed}: ${report.sent} sent, ${report.faults.length} faults`,
      );
      seed++;
    }
    const valid = await Promise.all(FUZZ_SEEDS.map((s) => client.sendWire(s.request, s.overHttp2)));
    const validFailures = valid.filter((o) => o.code !== "ok" || isServerFault(o)).length;
    const rssEnd = await hostile.rssMiB();
    console.log(
      "\n| minutes | rounds | requests | server faults | valid calls failing after | RSS start → end (MiB) |",
    );
    console.log("|---:|---:|---:|---:|---:|---:|---|");
    console.log(
      `| ${minutes} | ${totals.rounds} | ${totals.sent} | ${totals.faults} | ${validFailures} | ${rssStart.toFixed(0)} → ${rssEnd.toFixed(0)} |`,
    );
  } finally {
    client.close();
    await hostile.stop();
  }
}

await main();
