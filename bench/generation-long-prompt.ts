/**
 * The long-prompt case of `npm run bench:generation` (also `npx tsx bench/generation-long-prompt.ts`
 * alone): a prompt as long as stories260k's context allows arrives while 8 streams
 * decode. Measured per prefill budget (model.json `max_prefill_tokens_per_step`, one
 * model each in one server): the 8 streams' inter-token gaps (median, p99, max, as their
 * client sees them) and the long prompt's time to first token, against the same prompt
 * through the server with nothing else running and a bare onnxruntime-node prefill.
 */
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GenerationService } from "../gen/inferd/v1/generation_pb.js";
import { createBareLoop } from "./generation-bare-loop.js";
import { greedyStream, median, PROMPTS, quantile } from "./generation-streams.js";
import { startServerProcess } from "./server-process.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const STORIES = resolve(HERE, "../../shared/models/stories260k");
/** Budgets compared; the first never splits the prompt (chunking off). */
const BUDGETS = [100_000, 128, 32];
const STREAMS = 8;
const STREAM_TOKENS = 64;
/** The long prompt arrives once every stream has this many tokens. */
const ARRIVE_AFTER = 8;
const LONG_TOKENS = 8;
const REPS = 7;

/** Context 512 (config max_position_embeddings): the longest prompt that leaves room for its tokens. */
function longPrompt(): number[] {
  const golden = JSON.parse(readFileSync(join(STORIES, "golden.json"), "utf8")) as {
    cases: { generated_token_ids: number[] }[];
  };
  const { max_position_embeddings: context } = JSON.parse(
    readFileSync(join(STORIES, "1", "config.json"), "utf8"),
  ) as { max_position_embeddings: number };
  const story = golden.cases.flatMap((c) => c.generated_token_ids.filter((id) => id > 2));
  const text = Array.from({ length: 3 }, () => story).flat();
  return [1, ...text].slice(0, context - LONG_TOKENS);
}

const modelName = (budget: number) => `stories260k_prefill_${budget}`;

async function makeRepo(): Promise<string> {
  const repo = await mkdtemp(join(tmpdir(), "inferd-bench-prefill-"));
  for (const budget of BUDGETS) {
    const dir = join(repo, modelName(budget), "1");
    await mkdir(dir, { recursive: true });
    const version = join(STORIES, "1");
    for (const file of await readdir(version)) await symlink(join(version, file), join(dir, file));
    const modelJson = {
      kind: "generate",
      max_concurrent_sequences: 16,
      max_prefill_tokens_per_step: budget,
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
    const request = {
      model,
      prompt: text,
      temperature: 0,
      ignoreEos: true,
      maxTokens: STREAM_TOKENS,
    };
    for await (const m of client.generate(request)) {
      if (m.tokenIds.length === 0) continue;
      const now = performance.now();
      if (count > 0) {
        gaps.push((now - last) / m.tokenIds.length);
        spans.push([last, now]);
      }
      [count, last] = [count + m.tokenIds.length, now];
      if (
        count >= ARRIVE_AFTER &&
        count - m.tokenIds.length < ARRIVE_AFTER &&
        ++arrived === STREAMS
      )
        arrive();
    }
  };
  const streams = PROMPTS.slice(0, STREAMS).map(stream);
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

interface Row {
  gaps: number[];
  /** Per round: the streams' longest gap overlapping the long prompt's prefill. */
  windowMax: number[];
  ttft: number[];
  alone: number[];
}

/** Runs the case and returns its Markdown report lines (empty when stories260k is absent). */
export async function runLongPromptCase(): Promise<string[]> {
  const prompt = longPrompt();
  const loadStart = loadavg()[0] ?? 0;
  const bare = await createBareLoop(join(STORIES, "1"), {
    intraOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  });
  const repo = await makeRepo();
  const server = await startServerProcess({ modelRepository: repo });
  const rows = new Map<number, Row>(
    BUDGETS.map((b) => [b, { gaps: [], windowMax: [], ttft: [], alone: [] }]),
  );
  const bareMs: number[] = [];
  const floor: number[] = [];
  try {
    const client = createClient(
      GenerationService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }),
    );
    await bare.run(prompt, 1);
    for (const b of BUDGETS)
      await greedyStream(client, modelName(b), { promptTokenIds: prompt }, 4);
    for (let rep = 0; rep < REPS; rep++) {
      bareMs.push((await bare.run(prompt, 1)).ms);
      floor.push(...(await contended(client, modelName(BUDGETS[0] ?? 0), undefined)).gaps);
      for (const b of BUDGETS) {
        const row = rows.get(b);
        if (row === undefined) continue;
        const alone = await greedyStream(client, modelName(b), { promptTokenIds: prompt }, 1);
        row.alone.push(alone.ttftMs);
        const run = await contended(client, modelName(b), prompt);
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
  return report(prompt.length, rows, floor, median(bareMs), loadStart);
}

const f = (n: number, digits = 1) => n.toLocaleString("en-US", { maximumFractionDigits: digits });

function report(
  promptLength: number,
  rows: Map<number, Row>,
  floor: number[],
  bare: number,
  load: number,
): string[] {
  const [p50, p99] = [quantile(floor, 0.5), quantile(floor, 0.99)];
  return [
    `long prompt (${promptLength} tokens, stories260k's context is 512) arriving while ${STREAMS} streams decode ${STREAM_TOKENS} tokens each (after ${ARRIVE_AFTER}); ${REPS} rounds, budgets alternating; load average (1 min) ${f(load, 2)} at start, ${f(loadavg()[0] ?? 0, 2)} at end`,
    "",
    "| max_prefill_tokens_per_step | streams' inter-token p50 ms | p99 ms | p99 / p50 | max ms | longest gap during the prefill, median of rounds, ms | long prompt TTFT p50 ms (among streams) | TTFT alone, server ms | TTFT among streams / bare prefill |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    `| no long prompt (the floor) | ${f(p50, 2)} | ${f(p99, 2)} | ${f(p99 / p50, 2)} | ${f(Math.max(...floor))} | | | | |`,
    ...[...rows].map(([budget, r]) => {
      const [p50, p99] = [quantile(r.gaps, 0.5), quantile(r.gaps, 0.99)];
      const ttft = median(r.ttft);
      const label = budget >= promptLength ? `${budget} (off: one run)` : String(budget);
      return `| ${label} | ${f(p50, 2)} | ${f(p99, 2)} | ${f(p99 / p50, 2)} | ${f(Math.max(...r.gaps))} | ${f(median(r.windowMax))} | ${f(ttft)} | ${f(median(r.alone))} | ${f(ttft / bare, 2)} |`;
    }),
    "",
    `bare onnxruntime-node prefill of the same prompt (one run, one intra-op thread): ${f(bare, 2)} ms (median)`,
  ];
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log((await runLongPromptCase()).join("\n"));
}
