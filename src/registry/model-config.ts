import { z } from "zod";
import type { ExecutionMode, SessionOptions } from "../runtime/model-runtime.js";
import type { ModelKind } from "./model-kind.js";

/** Which of a model's version folders load: the newest N, all, or a fixed list. */
export type VersionPolicy =
  | "all"
  | { readonly latest: number }
  | { readonly specific: readonly number[] };

/** How unpinned requests pick among ready versions; weights are relative, keyed by version. */
export type RoutingPolicy =
  | { readonly policy: "newest" }
  | { readonly policy: "weighted"; readonly weights: ReadonlyMap<number, number> };

/**
 * A model's `model.json`, merged with defaults. `kind` is absent unless the file sets
 * it: the scanner detects the kind and the file only overrides. `labelOutput` absent
 * means "resolve from the signature" (see {@link resolveLabelOutput}).
 */
export interface ModelConfig {
  readonly kind?: ModelKind;
  readonly versionPolicy: VersionPolicy;
  readonly labels: readonly string[];
  readonly labelOutput?: string;
  readonly topK: number;
  readonly instanceCount: number;
  /**
   * Where predict runs execute: "worker" threads, "inline" on the main thread (for
   * models whose run costs less than the worker round trip), or "auto" (timed at load).
   */
  readonly execution: ExecutionMode;
  readonly session: SessionOptions;
  readonly warmup: boolean;
  /** Default request timeout; 0 means none. */
  readonly timeoutMs: number;
  readonly routing: RoutingPolicy;
  /** 0 means the model is not batched. */
  readonly maxBatchSize: number;
  readonly maxQueueDelayUs: number;
  /**
   * "adaptive": requests wait for company only while every instance is busy, so
   * batching costs no latency at low load; "fixed": up to the delay (Triton's).
   */
  readonly queueDelay: "adaptive" | "fixed";
  readonly preferredBatchSizes: readonly number[];
  /** 0 means unbounded. */
  readonly maxQueueSize: number;
  readonly priorityLevels: number;
  /** 0 entries means no response cache. */
  readonly responseCache: { readonly maxEntries: number };
  readonly maxConcurrentSequences: number;
  /**
   * Generative models: prompt tokens one scheduler step may prefill (padding included),
   * so a long prompt is prefilled in chunks between the running streams' decode steps;
   * 0 means the engine's default (512, generation/engine/prefill-plan.ts).
   */
  readonly maxPrefillTokensPerStep: number;
  /**
   * Generative models: the same while other sequences decode (each chunk is a gap in
   * their streams), within maxPrefillTokensPerStep; 0 means the engine's default (64).
   */
  readonly maxPrefillTokensWhileDecoding: number;
  readonly maxWaiting: number;
  /**
   * Generative models: sequences one client (API key, else peer address) may have
   * running plus waiting; 0 means the default, a quarter of max_concurrent_sequences
   * plus max_waiting, at least max_concurrent_sequences + 1.
   */
  readonly maxSequencesPerClient: number;
  /**
   * Generative models: "append" rewrites the decoder so a step appends to the KV cache
   * instead of copying it, when the graph allows and the rewrite checks out; "concat"
   * serves the export as it is.
   */
  readonly kvCache: "append" | "concat";
  /**
   * Generative models: the most bytes a full KV cache (max_concurrent_sequences ×
   * context window × bytes per token) may take, checked at load; 0 means the
   * memory limit (the container's, else the machine's) less the weights.
   */
  readonly kvCacheMemoryBytes: number;
  /**
   * Generative models: the `accuracy_level` set at load on every int4 MatMulNBits node
   * of the decoder, whatever the export chose (0-4; 4: int8 activations, the default,
   * ~1.4x faster decode than 0 on a VNNI CPU). See generation/decoder-load/load-time-edits.ts.
   */
  readonly matmulNBitsAccuracyLevel: number;
  /**
   * Generative models: bytes of KV blocks of prompt prefixes kept so that requests
   * sharing a prefix (a system prompt, a chat history) skip recomputing it; 0 turns
   * the prefix cache off. Default {@link DEFAULT_PREFIX_CACHE_BYTES}.
   */
  readonly prefixCacheBytes: number;
}

/**
 * model.json `matmul_nbits_accuracy_level` when absent: 4, int8 activations. Measured
 * on the SmolLM2-135M shape (issue 17), block 32 int4 decodes about 1.4x faster at
 * level 4 than at level 0 on this AVX-512 VNNI CPU; the logits move by the int8
 * rounding of the activations, which greedy decoding tolerates (tests state how much).
 */
export const DEFAULT_MATMUL_NBITS_ACCURACY_LEVEL = 4;

/**
 * Default of model.json `prefix_cache_bytes`: 64 MiB, on. Reuse changes no greedy
 * output (tested on stories260k and the fixtures) and a miss costs one hash per 16
 * prompt tokens, so it is on by default as in vLLM V1; 64 MiB is small beside the
 * weights of a real model and holds about 1,450 tokens of SmolLM2-135M (46 KB each),
 * a few system prompts, or the whole 512-token context of stories260k many times over.
 * It is memory on top of the KV-cache budget (kv_cache_memory_bytes), held once used.
 */
export const DEFAULT_PREFIX_CACHE_BYTES = 64 * 1024 * 1024;

const POS = "expected a positive integer";
const NONNEG = "expected a non-negative integer";
const posInt = () => z.int({ error: POS }).positive({ error: POS });
const nonNegInt = () => z.int({ error: NONNEG }).nonnegative({ error: NONNEG });

const versionPolicySchema = z.union(
  [
    z.literal("all"),
    z.strictObject({ latest: posInt() }),
    z.strictObject({ specific: z.array(posInt()).min(1) }),
  ],
  { error: 'expected "all", {"latest": N} or {"specific": [N, ...]} with positive integers' },
);

const routingSchema = z.union(
  [
    z.strictObject({ policy: z.literal("newest") }),
    z.strictObject({
      policy: z.literal("weighted"),
      weights: z.record(z.string().regex(/^[1-9][0-9]*$/), z.number().nonnegative()),
    }),
  ],
  {
    error:
      'expected {"policy": "newest"} or {"policy": "weighted", "weights": {"<version>": <weight>}} with non-negative weights',
  },
);

const schema = z.strictObject({
  kind: z.enum(["predict", "generate"], { error: 'expected "predict" or "generate"' }).optional(),
  version_policy: versionPolicySchema.optional(),
  labels: z
    .array(z.string({ error: "expected a string" }), { error: "expected an array of strings" })
    .optional(),
  label_output: z.string({ error: "expected a string" }).optional(),
  top_k: posInt().optional(),
  instance_count: posInt().optional(),
  execution: z
    .enum(["auto", "worker", "inline"], { error: 'expected "auto", "worker" or "inline"' })
    .optional(),
  session: z
    .strictObject(
      {
        intra_op_threads: nonNegInt().optional(),
        inter_op_threads: nonNegInt().optional(),
        graph_optimization_level: z
          .enum(["disabled", "basic", "extended", "all"], {
            error: 'expected "disabled", "basic", "extended" or "all"',
          })
          .optional(),
        allow_spinning: z.boolean({ error: "expected true or false" }).optional(),
        worker_nice: z
          .int({ error: "expected an integer from 0 to 19" })
          .min(0, { error: "expected an integer from 0 to 19" })
          .max(19, { error: "expected an integer from 0 to 19" })
          .optional(),
      },
      { error: "expected an object" },
    )
    .optional(),
  warmup: z.boolean({ error: "expected true or false" }).optional(),
  timeout_ms: nonNegInt()
    .max(2 ** 31 - 1)
    .optional(),
  routing: routingSchema.optional(),
  max_batch_size: nonNegInt().optional(),
  max_queue_delay_us: nonNegInt().optional(),
  queue_delay: z
    .enum(["adaptive", "fixed"], { error: 'expected "adaptive" or "fixed"' })
    .optional(),
  preferred_batch_sizes: z
    .array(posInt(), { error: "expected an array of positive integers" })
    .optional(),
  max_queue_size: nonNegInt().optional(),
  priority_levels: nonNegInt().optional(),
  response_cache: z
    .strictObject({ max_entries: nonNegInt() }, { error: "expected an object" })
    .optional(),
  max_concurrent_sequences: posInt().optional(),
  max_prefill_tokens_per_step: nonNegInt().optional(),
  max_prefill_tokens_while_decoding: nonNegInt().optional(),
  kv_cache: z.enum(["append", "concat"], { error: 'expected "append" or "concat"' }).optional(),
  max_waiting: nonNegInt().optional(),
  matmul_nbits_accuracy_level: z
    .int({ error: "expected an integer from 0 to 4" })
    .min(0, { error: "expected an integer from 0 to 4" })
    .max(4, { error: "expected an integer from 0 to 4" })
    .optional(),
  max_sequences_per_client: nonNegInt().optional(),
  kv_cache_memory_bytes: nonNegInt().optional(),
  prefix_cache_bytes: nonNegInt().optional(),
});

type ModelJson = z.infer<typeof schema>;

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) =>
      typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`,
    )
    .join("");
}

function issueMessages(issue: z.core.$ZodIssue): string[] {
  const prefix = formatPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `unknown key "${prefix ? `${prefix}.${key}` : key}"`);
  }
  return [prefix ? `"${prefix}": ${issue.message}` : issue.message];
}

/**
 * Parses a model.json document strictly: an unknown key or a wrong type throws an
 * `Error` whose message names the file and the key path (`models/iris/model.json:
 * unknown key "lables"`), so that a typo never silently falls back to a default.
 */
export function parseModelConfig(json: unknown, file: string): ModelConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new Error(`${file}: expected a JSON object`);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const messages = result.error.issues.flatMap(issueMessages);
    throw new Error(`${file}: ${messages.join("; ")}`);
  }
  return fromJson(result.data);
}

function fromJson(j: ModelJson): ModelConfig {
  const session: SessionOptions = {};
  if (j.session?.intra_op_threads !== undefined)
    session.intraOpThreads = j.session.intra_op_threads;
  if (j.session?.inter_op_threads !== undefined)
    session.interOpThreads = j.session.inter_op_threads;
  if (j.session?.graph_optimization_level !== undefined) {
    session.graphOptimizationLevel = j.session.graph_optimization_level;
  }
  if (j.session?.allow_spinning !== undefined) session.allowSpinning = j.session.allow_spinning;
  if (j.session?.worker_nice !== undefined) session.workerNice = j.session.worker_nice;
  const routing: RoutingPolicy =
    j.routing?.policy === "weighted"
      ? {
          policy: "weighted",
          weights: new Map(Object.entries(j.routing.weights).map(([v, w]) => [Number(v), w])),
        }
      : { policy: "newest" };
  return {
    ...(j.kind !== undefined && { kind: j.kind }),
    versionPolicy: j.version_policy ?? { latest: 1 },
    labels: j.labels ?? [],
    ...(j.label_output !== undefined && { labelOutput: j.label_output }),
    topK: j.top_k ?? 1,
    instanceCount: j.instance_count ?? 1,
    execution: j.execution ?? "auto",
    session,
    warmup: j.warmup ?? false,
    timeoutMs: j.timeout_ms ?? 0,
    routing,
    maxBatchSize: j.max_batch_size ?? 0,
    maxQueueDelayUs: j.max_queue_delay_us ?? 0,
    queueDelay: j.queue_delay ?? "adaptive",
    preferredBatchSizes: j.preferred_batch_sizes ?? [],
    maxQueueSize: j.max_queue_size ?? 1024,
    priorityLevels: j.priority_levels ?? 0,
    responseCache: { maxEntries: j.response_cache?.max_entries ?? 0 },
    maxConcurrentSequences: j.max_concurrent_sequences ?? 16,
    maxPrefillTokensPerStep: j.max_prefill_tokens_per_step ?? 0,
    maxPrefillTokensWhileDecoding: j.max_prefill_tokens_while_decoding ?? 0,
    kvCache: j.kv_cache ?? "append",
    matmulNBitsAccuracyLevel: j.matmul_nbits_accuracy_level ?? DEFAULT_MATMUL_NBITS_ACCURACY_LEVEL,
    maxWaiting: j.max_waiting ?? 256,
    maxSequencesPerClient: j.max_sequences_per_client ?? 0,
    kvCacheMemoryBytes: j.kv_cache_memory_bytes ?? 0,
    prefixCacheBytes: j.prefix_cache_bytes ?? DEFAULT_PREFIX_CACHE_BYTES,
  };
}

/** The configuration a model without model.json gets. */
export function defaultModelConfig(): ModelConfig {
  return fromJson({});
}
