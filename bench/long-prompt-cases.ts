/**
 * The configurations bench/generation-long-prompt.ts runs: stories260k (a regression
 * check of per-step overhead) and issue 17's case on the real-size fixture. Environment
 * (real size only): `BENCH_LONG_REPS` (default 3), `BENCH_LONG_STREAM_TOKENS` (default
 * 32), `BENCH_PREFILL_BUDGETS` (comma-separated, default `100000,512,64`: off, the
 * budget with nothing decoding, and the server's default while sequences decode). A
 * budget is set as both model.json `max_prefill_tokens_per_step` and
 * `max_prefill_tokens_while_decoding`.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DEFAULT_MAX_PREFILL_TOKENS_PER_STEP,
  DEFAULT_MAX_PREFILL_TOKENS_WHILE_DECODING,
} from "../src/generation/engine/prefill-plan.js";
import { defaultGenerationThreads } from "../src/generation/worker/generation-threads.js";
import { PROMPTS } from "./generation-streams.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const STORIES = resolve(HERE, "../../shared/models/stories260k");
/** Where `npm run fixtures:llm` writes its models; a bench's repository of hard links goes next to it. */
export const LLM_REPO = resolve(HERE, "../test/.output/llm-models");
/** The real-size fixture's version folder. */
export const REAL_SIZE = join(LLM_REPO, "smollm_135m", "1");
/** Tokens the long prompt generates (room left for them in stories260k's context). */
export const LONG_TOKENS = 8;

/** One configuration of the case: which model, which budgets, how long and how often. */
export interface LongPromptCase {
  readonly label: string;
  /** The model's version folder (config.json, model.onnx and its data). */
  readonly versionDir: string;
  /** Budgets compared; the first never splits the prompt (chunking off). */
  readonly budgets: readonly number[];
  readonly prompt: number[];
  /** The 8 streams' prompts (cycled). */
  readonly streamPrompts: readonly string[];
  readonly streamTokens: number;
  readonly reps: number;
  /** Intra-op threads of the server's sessions (pinned in model.json) and of the bare prefill alike. */
  readonly threads: number;
  /** Hard links (external data: ORT refuses a symlinked data file) or symbolic links. */
  readonly hardLinks: boolean;
  readonly readyTimeoutMs: number;
  /** Also time the served graph's chunks alone (chunked-prefill-floor.ts) after the rounds. */
  readonly chunkFloor: boolean;
}

/** stories260k: context 512, so the longest prompt that leaves room for its tokens. */
export function storiesCase(): LongPromptCase {
  const golden = JSON.parse(readFileSync(join(STORIES, "golden.json"), "utf8")) as {
    cases: { generated_token_ids: number[] }[];
  };
  const { max_position_embeddings: context } = JSON.parse(
    readFileSync(join(STORIES, "1", "config.json"), "utf8"),
  ) as { max_position_embeddings: number };
  const story = golden.cases.flatMap((c) => c.generated_token_ids.filter((id) => id > 2));
  const text = Array.from({ length: 3 }, () => story).flat();
  return {
    label: "stories260k's context is 512",
    versionDir: join(STORIES, "1"),
    // The default budget (512) would not split a prompt this short: 128 and 32 stand in.
    budgets: [100_000, 128, 32],
    prompt: [1, ...text].slice(0, context - LONG_TOKENS),
    streamPrompts: PROMPTS,
    streamTokens: 64,
    reps: 7,
    // One thread: a step of this model is per-call overhead, which more threads only add to.
    threads: 1,
    hardLinks: false,
    readyTimeoutMs: 60_000,
    chunkFloor: false,
  };
}

/**
 * The real-size fixture (context 8192): a 1,000-token prompt, chunking off against
 * 512 (two chunks) and the server's default while sequences decode (64: 16 chunks),
 * `BENCH_PREFILL_BUDGETS=100000,128` to choose others. Threads pinned to what a server serving this one model would choose
 * (the versions share one server here, whose default would halve them).
 */
export function realSizeCase(): LongPromptCase {
  const { vocab_size: vocab, max_position_embeddings: context } = JSON.parse(
    readFileSync(join(REAL_SIZE, "config.json"), "utf8"),
  ) as { vocab_size: number; max_position_embeddings: number };
  const budgets = process.env.BENCH_PREFILL_BUDGETS?.split(",").map(Number);
  return {
    label: `SmolLM2-135M shape, random weights, context ${context}`,
    versionDir: REAL_SIZE,
    budgets: budgets ?? [
      100_000,
      DEFAULT_MAX_PREFILL_TOKENS_PER_STEP,
      DEFAULT_MAX_PREFILL_TOKENS_WHILE_DECODING,
    ],
    prompt: [1, ...Array.from({ length: 999 }, (_, i) => 3 + ((i * 37) % (vocab - 3)))],
    // This tokenizer adds no BOS to stand for the empty prompt.
    streamPrompts: PROMPTS.filter((p) => p !== ""),
    streamTokens: Number(process.env.BENCH_LONG_STREAM_TOKENS ?? 32),
    reps: Number(process.env.BENCH_LONG_REPS ?? 3),
    threads: defaultGenerationThreads(cpus().length, 1),
    hardLinks: true,
    readyTimeoutMs: 600_000,
    chunkFloor: true,
  };
}
