import { cp, rename } from "node:fs/promises";
import http2 from "node:http2";
import { loadavg } from "node:os";
import { join } from "node:path";
import { FUZZ_SEEDS } from "../test/hostile/fuzz-seeds.js";
import { env } from "../test/hostile/hostile-row.js";
import { generate, PATHS } from "../test/hostile/hostile-samples.js";
import { runFuzz } from "../test/hostile/run-fuzz.js";
import { createHostileClient, type HostileClient } from "../test/hostile/send-row.js";
import { type HostileServer, numberArg, startHostileServer } from "./hostile-server.js";

/**
 * The mixed soak (issue 16): against one inferd process, for `--minutes` (default 10),
 * at once: valid calls on every protocol, a trickle of fuzzed requests, Generate streams
 * cancelled mid-way, Generate streams whose client stops reading, and a hot swap (a new
 * iris version folder, picked up by the poller) every `--swap-seconds`. Reports RSS
 * growth after the warm-up (target < 10 %) and unexpected errors (target 0) as a table.
 * Run: `npx tsx bench/hostile-soak.ts [--minutes 10] [--swap-seconds 15] [--skip cancel,slow]`.
 */
interface Tally {
  valid: number;
  fuzzed: number;
  cancels: number;
  /** Sessions of the cancel loop the server closed (GOAWAY) and that were replaced. */
  cancelSessions: number;
  slowReaders: number;
  swaps: number;
  unexpected: string[];
  versions: Set<number>;
}

const running = { stop: false };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function validLoop(client: HostileClient, tally: Tally): Promise<void> {
  for (let i = 0; !running.stop; i++) {
    const seed = FUZZ_SEEDS[i % FUZZ_SEEDS.length];
    if (seed === undefined) continue;
    const outcome = await client.sendWire(seed.request, seed.overHttp2);
    tally.valid++;
    if (outcome.code !== "ok")
      tally.unexpected.push(
        `valid ${seed.protocol}: ${outcome.status} ${outcome.code} ${outcome.message.slice(0, 120)}`,
      );
    const version = /"version":(\d+)/.exec(outcome.message)?.[1];
    if (seed.protocol === "connect-json" && version !== undefined)
      tally.versions.add(Number(version));
  }
}

async function fuzzLoop(client: HostileClient, tally: Tally): Promise<void> {
  for (let seed = 1000; !running.stop; seed++) {
    const report = await runFuzz(client, { seed, perSeed: 3, concurrency: 2 });
    tally.fuzzed += report.sent;
    for (const fault of report.faults)
      tally.unexpected.push(`fuzz: ${JSON.stringify(fault).slice(0, 300)}`);
  }
}

/** Opens a 64-token Generate stream on `session`; `onData` decides what to do with it. */
function generateStream(session: http2.ClientHttp2Session): http2.ClientHttp2Stream {
  const stream = session.request({
    ":method": "POST",
    ":path": PATHS.generate,
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.on("error", () => {});
  stream.end(env(generate({ maxTokens: 64, ignoreEos: true })));
  return stream;
}

async function cancelLoop(port: number, tally: Tally): Promise<void> {
  let session: http2.ClientHttp2Session | undefined;
  while (!running.stop) {
    // Node's server answers many resets on one session with GOAWAY (rapid-reset
    // protection): a closed session is replaced, and counted.
    if (session === undefined || session.closed || session.destroyed) {
      if (session !== undefined) tally.cancelSessions++;
      session = http2.connect(`http://127.0.0.1:${port}`).on("error", () => {});
    }
    const stream = generateStream(session);
    await new Promise<void>((resolve) => {
      stream.once("data", () => stream.close(http2.constants.NGHTTP2_CANCEL));
      stream.once("close", () => resolve());
    });
    tally.cancels++;
  }
  session?.close();
}

async function slowReaderLoop(port: number, tally: Tally): Promise<void> {
  while (!running.stop) {
    const session = http2.connect(`http://127.0.0.1:${port}`).on("error", () => {});
    const streams = Array.from({ length: 8 }, () => generateStream(session).pause());
    await sleep(3000);
    session.destroy();
    tally.slowReaders += streams.length;
  }
}

async function swapLoop(hostile: HostileServer, swapSeconds: number, tally: Tally): Promise<void> {
  for (let version = 3; !running.stop; version++) {
    await sleep(swapSeconds * 1000);
    if (running.stop) break;
    // Copied aside, then renamed: the poller never sees a half-copied version folder.
    const staging = join(hostile.repo, `.staging-${version}`);
    await cp(join(hostile.repo, "iris", "2"), staging, { recursive: true });
    await rename(staging, join(hostile.repo, "iris", String(version)));
    tally.swaps++;
  }
}

/** The server's own memory gauges (/metrics), in MiB: where RSS growth lives. */
const MEMORY_GAUGES = {
  rss: "inferd_process_resident_memory_bytes",
  heapUsed: "inferd_nodejs_heap_size_used_bytes",
  heapTotal: "inferd_nodejs_heap_size_total_bytes",
  external: "inferd_nodejs_external_memory_bytes",
} as const;

/** One line every 30 s: RSS split into V8 heap (used, total) and external memory. */
async function logMemorySplit(port: number, started: number): Promise<void> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const mib = (name: string) => {
    const value = new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1];
    return value === undefined ? "?" : (Number(value) / 2 ** 20).toFixed(1);
  };
  const split = Object.entries(MEMORY_GAUGES).map(([label, name]) => `${label} ${mib(name)}`);
  console.log(`t=${((Date.now() - started) / 1000).toFixed(0)} s MiB: ${split.join(", ")}`);
}

/** RSS every 5 s; the baseline is the first sample after the warm-up. */
async function sampleRss(
  hostile: HostileServer,
  warmupMs: number,
  samples: number[],
): Promise<number> {
  const started = Date.now();
  let baseline = 0;
  while (!running.stop) {
    const rss = await hostile.rssMiB();
    samples.push(rss);
    if (baseline === 0 && Date.now() - started >= warmupMs) baseline = rss;
    if (samples.length % 6 === 1) await logMemorySplit(hostile.server.port, started);
    await sleep(5000);
  }
  return baseline;
}

function report(
  minutes: number,
  warmupMs: number,
  tally: Tally,
  baseline: number,
  samples: number[],
): void {
  const end = samples.at(-1) ?? 0;
  const afterWarmup = samples.slice(Math.ceil(warmupMs / 5000));
  const max = Math.max(...afterWarmup, end);
  const growth = baseline > 0 ? ((end - baseline) / baseline) * 100 : Number.NaN;
  // One sample against one swings with V8's heap between collections (±30 % between
  // identical runs): the median of the first minute after warm-up against the last
  // minute's says whether memory climbs.
  const firstMinute = median(afterWarmup.slice(0, 12));
  const lastMinute = median(afterWarmup.slice(-12));
  const medianGrowth = ((lastMinute - firstMinute) / firstMinute) * 100;
  console.log(
    `\nload average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")}`,
  );
  console.log(
    "| minutes | warm-up s | valid calls | fuzzed | cancels (sessions replaced) | slow readers | hot swaps | iris versions served | unexpected errors | RSS after warm-up → end (max), MiB | RSS growth | RSS median, first → last minute, MiB | median growth |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---|---:|");
  console.log(
    `| ${minutes} | ${(warmupMs / 1000).toFixed(0)} | ${tally.valid} | ${tally.fuzzed} | ${tally.cancels} (${tally.cancelSessions}) | ${tally.slowReaders} | ${tally.swaps} | ${[...tally.versions].sort((a, b) => a - b).join(", ")} | ${tally.unexpected.length} | ${baseline.toFixed(0)} → ${end.toFixed(0)} (${max.toFixed(0)}) | ${growth.toFixed(1)} % | ${firstMinute.toFixed(0)} → ${lastMinute.toFixed(0)} | ${medianGrowth.toFixed(1)} % |`,
  );
  // Every 30 s: a plateau (allocator and heap sizing settling) reads differently from a steady climb.
  const series = samples.filter((_, i) => i % 6 === 0).map((mib) => mib.toFixed(0));
  console.log(`RSS every 30 s, MiB: ${series.join(" ")}`);
  for (const line of tally.unexpected.slice(0, 20)) console.log("UNEXPECTED", line);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** `--skip valid,fuzz,cancel,slow,swap`: loops left out, to find which activity grows RSS. */
function skipped(): Set<string> {
  const at = process.argv.indexOf("--skip");
  return new Set(at < 0 ? [] : (process.argv[at + 1] ?? "").split(","));
}

async function main(): Promise<void> {
  const minutes = numberArg("minutes", 10);
  const swapSeconds = numberArg("swap-seconds", 15);
  const warmupMs = Math.min(60_000, minutes * 60_000 * 0.2);
  const hostile = await startHostileServer();
  const port = hostile.server.port;
  const client = createHostileClient(port);
  const tally: Tally = {
    valid: 0,
    fuzzed: 0,
    cancels: 0,
    cancelSessions: 0,
    slowReaders: 0,
    swaps: 0,
    unexpected: [],
    versions: new Set(),
  };
  const samples: number[] = [];
  // Valid traffic on connections of its own: a fuzzed request may rightly get its
  // connection closed, and a keep-alive socket reused after that is the client's race.
  const validClients = [createHostileClient(port), createHostileClient(port)];
  const skip = skipped();
  const loops = [
    ...(skip.has("valid") ? [] : validClients.map((own) => validLoop(own, tally))),
    ...(skip.has("fuzz") ? [] : [fuzzLoop(client, tally)]),
    ...(skip.has("cancel") ? [] : [cancelLoop(port, tally)]),
    ...(skip.has("slow") ? [] : [slowReaderLoop(port, tally)]),
    ...(skip.has("swap") ? [] : [swapLoop(hostile, swapSeconds, tally)]),
  ];
  const rss = sampleRss(hostile, warmupMs, samples);
  await sleep(minutes * 60_000);
  running.stop = true;
  await Promise.all(loops);
  const baseline = await rss;
  samples.push(await hostile.rssMiB());
  for (const own of [client, ...validClients]) own.close();
  await hostile.stop();
  report(minutes, warmupMs, tally, baseline, samples);
}

await main();
