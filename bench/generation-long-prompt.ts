/**
 * The long-prompt case of `npm run bench:generation` (also `npx tsx bench/generation-long-prompt.ts`
 * alone; `--real-size` runs only the real-size part): a long prompt arrives while 8
 * streams decode. On stories260k, a prompt as long as its context (512) allows; on the
 * real-size fixture (SmolLM2-135M's shape, `npm run fixtures:llm`, run when present),
 * issue 17's case: a 1,000-token prompt. Measured per prefill budget (model.json
 * `max_prefill_tokens_per_step`, one model each in one server child process, gRPC): the
 * 8 streams' inter-token gaps (median, p99, max, as their client sees them), the longest
 * gap overlapping the prefill, and the long prompt's time to first token, against the
 * same prompt through the server with nothing else running and a bare onnxruntime-node
 * prefill under the same session options (intra-op threads, no spinning) as the server's.
 * The cases and their environment variables: long-prompt-cases.ts.
 */
import { existsSync } from "node:fs";
import { link, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GenerationService } from "../gen/inferd/v1/generation_pb.js";
import { chunkFloorLines, measureChunkCosts } from "./chunked-prefill-floor.js";
import { createBareLoop } from "./generation-bare-loop.js";
import { serverSessionOptions } from "./generation-floor.js";
import { greedyStream, median, quantile } from "./generation-streams.js";
import {
  LLM_REPO,
  LONG_TOKENS,
  type LongPromptCase,
  REAL_SIZE,
  realSizeCase,
  storiesCase,
} from "./long-prompt-cases.js";
import { type LongPromptRow, longPromptReport } from "./long-prompt-report.js";
import { startServerProcess } from "./server-process.js";

const STREAMS = 8;
/** The long prompt arrives once every stream has this many tokens. */
const ARRIVE_AFTER = 8;

const modelName = (budget: number) => `long_prompt_${budget}`;

async function makeRepo(c: LongPromptCase): Promise<string> {
  const parent = c.hardLinks ? join(LLM_REPO, "..") : tmpdir();
  const repo = await mkdtemp(join(parent, "inferd-bench-prefill-"));
  for (const budget of c.budgets) {
    const dir = join(repo, modelName(budget), "1");
    await mkdir(dir, { recursive: true });
    for (const file of await readdir(c.versionDir)) {
      await (c.hardLinks ? link : symlink)(join(c.versionDir, file), join(dir, file));
    }
    const modelJson = {
      kind: "generate",
      max_concurrent_sequences: 16,
      max_prefill_tokens_per_step: budget,
      max_prefill_tokens_while_decoding: budget,
      // Off: the same prompt is sent again and again, and a prefix hit is no prefill.
      prefix_cache_bytes: 0,
      // Pinned: the server's default shares the cores among the versions it loads.
      session: { intra_op_threads: c.threads },
    };
    await writeFile(join(repo, modelName(budget), "model.json"), JSON.stringify(modelJson));
  }
  return repo;
}

/**
 * Inter-token gaps (ms) of 8 decoding streams, and the TTFT of the long prompt sent
 * among them (none without `prompt`: the gaps' floor on this machine now).
 */
async function contended(
  client: Client<typeof GenerationService>,
  c: LongPromptCase,
  model: string,
  prompt: number[] | undefined,
): Promise<{ gaps: number[]; ttftMs: number; windowMaxMs: number }> {
  const gaps: number[] = [];
  /** [start, end] of each gap, to find those overlapping the long prompt's prefill. */
  const spans: [number, number][] = [];
  let arrived = 0;
  let arrive = (): void => {};
  const allDecoding = new Promise<void>((done) => {
    arrive = done;
  });
  const stream = async (text: string) => {
    let [count, last] = [0, 0];
    const request = { model, prompt: text, temperature: 0, ignoreEos: true };
    for await (const m of client.generate({ ...request, maxTokens: c.streamTokens })) {
      if (m.tokenIds.length === 0) continue;
      const now = performance.now();
      if (count > 0) {
        gaps.push((now - last) / m.tokenIds.length);
        spans.push([last, now]);
      }
      [count, last] = [count + m.tokenIds.length, now];
      const reached = count >= ARRIVE_AFTER && count - m.tokenIds.length < ARRIVE_AFTER;
      if (reached && ++arrived === STREAMS) arrive();
    }
  };
  const texts = Array.from(
    { length: STREAMS },
    (_, i) => c.streamPrompts[i % c.streamPrompts.length],
  );
  const streams = texts.map((t) => stream(t ?? ""));
  await allDecoding;
  const sent = performance.now();
  const long =
    prompt === undefined
      ? undefined
      : await greedyStream(client, model, { promptTokenIds: prompt }, LONG_TOKENS);
  await Promise.all(streams);
  const until = sent + (long?.ttftMs ?? 0);
  const during = spans.filter(([from, to]) => to >= sent && from <= until);
  const windowMaxMs = Math.max(0, ...during.map(([from, to]) => to - from));
  return { gaps, ttftMs: long?.ttftMs ?? 0, windowMaxMs };
}

/** Runs one case and returns its Markdown report lines. */
async function runCase(c: LongPromptCase): Promise<string[]> {
  const loadStart = loadavg()[0] ?? 0;
  const bare = await createBareLoop(c.versionDir, {
    intraOpNumThreads: c.threads,
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  });
  const repo = await makeRepo(c);
  const server = await startServerProcess({
    modelRepository: repo,
    readyTimeoutMs: c.readyTimeoutMs,
  });
  const rows = new Map<number, LongPromptRow>(
    c.budgets.map((b) => [b, { gaps: [], windowMax: [], ttft: [], alone: [] }]),
  );
  const bareMs: number[] = [];
  const floor: number[] = [];
  try {
    const client = createClient(
      GenerationService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }),
    );
    await bare.run(c.prompt, 1);
    for (const b of c.budgets)
      await greedyStream(client, modelName(b), { promptTokenIds: c.prompt }, 4);
    for (let rep = 0; rep < c.reps; rep++) {
      bareMs.push((await bare.run(c.prompt, 1)).ms);
      floor.push(...(await contended(client, c, modelName(c.budgets[0] ?? 0), undefined)).gaps);
      for (const [b, row] of rows) {
        const alone = await greedyStream(client, modelName(b), { promptTokenIds: c.prompt }, 1);
        row.alone.push(alone.ttftMs);
        const run = await contended(client, c, modelName(b), c.prompt);
        row.gaps.push(...run.gaps);
        row.ttft.push(run.ttftMs);
        row.windowMax.push(run.windowMaxMs);
      }
    }
  } finally {
    await server.stop();
    await rm(repo, { recursive: true, force: true });
    await bare.release();
  }
  // After the server stopped: the chunks' runs then have the cores to themselves.
  const floorLines = c.chunkFloor
    ? chunkFloorLines({
        costs: await measureChunkCosts(
          c.versionDir,
          serverSessionOptions(c.threads),
          c.prompt.length,
        ),
        medianGapMs: quantile(floor, 0.5),
        promptLength: c.prompt.length,
        bareMs: median(bareMs),
      })
    : [];
  const heading = `long prompt (${c.prompt.length} tokens, ${c.label}) arriving while ${STREAMS} streams decode ${c.streamTokens} tokens each (after ${ARRIVE_AFTER}); ${c.reps} rounds, budgets alternating; ${c.threads} intra-op thread(s), no spinning, server and bare alike; load average (1 min) ${loadStart.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end`;
  const report = longPromptReport({
    heading,
    promptLength: c.prompt.length,
    rows,
    floor,
    bareMs: median(bareMs),
    threads: c.threads,
  });
  return floorLines.length === 0 ? report : [...report, "", ...floorLines];
}

/** The stories260k case (a regression check of per-step overhead). */
export function runLongPromptCase(): Promise<string[]> {
  return runCase(storiesCase());
}

/** The real-size case, or one line saying how to make the fixture when it is absent. */
export async function runRealSizeLongPromptCase(): Promise<string[]> {
  if (!existsSync(join(REAL_SIZE, "model.onnx"))) {
    return [
      `real-size long prompt skipped: ${REAL_SIZE} is absent (make it: npm run fixtures:llm)`,
    ];
  }
  return runCase(realSizeCase());
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const realSize = process.argv.includes("--real-size");
  if (!realSize) console.log((await runLongPromptCase()).join("\n"));
  if (realSize || existsSync(join(REAL_SIZE, "model.onnx"))) {
    console.log(["", ...(await runRealSizeLongPromptCase())].join("\n"));
  }
}
