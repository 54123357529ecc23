import { describe, expect, it } from "vitest";
import { effectiveConfigJson } from "../../src/registry/effective-config-json.js";
import { defaultModelConfig, parseModelConfig } from "../../src/registry/model-config.js";
import { resolveLabelOutput } from "../../src/registry/resolve-label-output.js";

const FILE = "models/iris/model.json";
const errorOf = (json: unknown) => {
  try {
    parseModelConfig(json, FILE);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected parseModelConfig to throw");
};

describe("parseModelConfig", () => {
  it("fills every default", () => {
    const c = parseModelConfig({}, FILE);
    expect(c).toEqual({
      versionPolicy: { latest: 1 },
      labels: [],
      topK: 1,
      instanceCount: 1,
      execution: "auto",
      session: {},
      warmup: false,
      timeoutMs: 0,
      routing: { policy: "newest" },
      maxBatchSize: 0,
      maxQueueDelayUs: 0,
      queueDelay: "adaptive",
      preferredBatchSizes: [],
      maxQueueSize: 1024,
      priorityLevels: 0,
      responseCache: { maxEntries: 0 },
      maxConcurrentSequences: 16,
      maxWaiting: 256,
      maxSequencesPerClient: 0,
      maxPrefillTokensPerStep: 0,
      maxPrefillTokensWhileDecoding: 0,
      kvCache: "append",
      kvCacheMemoryBytes: 0,
      matmulNBitsAccuracyLevel: 4,
      prefixCacheBytes: 64 * 1024 * 1024,
    });
    expect("kind" in c).toBe(false);
  });

  it("maps every snake_case key to camelCase", () => {
    const c = parseModelConfig(
      {
        kind: "generate",
        version_policy: { specific: [1, 3] },
        labels: ["a", "b"],
        label_output: "probs",
        top_k: 2,
        instance_count: 3,
        execution: "worker",
        session: {
          intra_op_threads: 2,
          inter_op_threads: 1,
          graph_optimization_level: "basic",
          allow_spinning: false,
          worker_nice: 7,
        },
        warmup: true,
        timeout_ms: 500,
        routing: { policy: "weighted", weights: { "1": 90, "2": 10 } },
        max_batch_size: 8,
        max_queue_delay_us: 100,
        queue_delay: "fixed",
        preferred_batch_sizes: [4, 8],
        max_queue_size: 64,
        priority_levels: 2,
        response_cache: { max_entries: 10 },
        max_concurrent_sequences: 4,
        max_waiting: 8,
        max_sequences_per_client: 3,
        max_prefill_tokens_per_step: 64,
        max_prefill_tokens_while_decoding: 16,
        kv_cache: "concat",
        kv_cache_memory_bytes: 1_000_000,
        matmul_nbits_accuracy_level: 0,
        prefix_cache_bytes: 0,
      },
      FILE,
    );
    expect(c.kind).toBe("generate");
    expect(c.versionPolicy).toEqual({ specific: [1, 3] });
    expect(c.session).toEqual({
      intraOpThreads: 2,
      interOpThreads: 1,
      graphOptimizationLevel: "basic",
      allowSpinning: false,
      workerNice: 7,
    });
    expect(c.routing).toEqual({
      policy: "weighted",
      weights: new Map([
        [1, 90],
        [2, 10],
      ]),
    });
    expect([c.topK, c.instanceCount, c.timeoutMs, c.maxBatchSize, c.maxQueueDelayUs]).toEqual([
      2, 3, 500, 8, 100,
    ]);
    expect([c.maxQueueSize, c.priorityLevels, c.responseCache.maxEntries]).toEqual([64, 2, 10]);
    expect([c.maxConcurrentSequences, c.maxWaiting, c.warmup]).toEqual([4, 8, true]);
    expect(c.kvCacheMemoryBytes).toBe(1_000_000);
    expect(c.prefixCacheBytes).toBe(0);
    expect(c.maxSequencesPerClient).toBe(3);
    expect(c.maxPrefillTokensPerStep).toBe(64);
    expect(c.maxPrefillTokensWhileDecoding).toBe(16);
    expect(c.kvCache).toBe("concat");
    expect(c.matmulNBitsAccuracyLevel).toBe(0);
    expect(parseModelConfig({}, FILE).matmulNBitsAccuracyLevel).toBe(4);
    expect(c.queueDelay).toBe("fixed");
    expect(c.execution).toBe("worker");
    expect(parseModelConfig({ execution: "inline" }, FILE).execution).toBe("inline");
  });

  it("names the file and the key for unknown keys, top level and nested", () => {
    expect(errorOf({ lables: ["a"] })).toBe(`${FILE}: unknown key "lables"`);
    expect(errorOf({ session: { intra_threads: 2 } })).toBe(
      `${FILE}: unknown key "session.intra_threads"`,
    );
  });

  it("names the key path and the expectation for wrong types", () => {
    expect(errorOf({ instance_count: "2" })).toBe(
      `${FILE}: "instance_count": expected a positive integer`,
    );
    expect(errorOf({ instance_count: 0 })).toBe(
      `${FILE}: "instance_count": expected a positive integer`,
    );
    expect(errorOf({ top_k: 1.5 })).toBe(`${FILE}: "top_k": expected a positive integer`);
    expect(errorOf({ matmul_nbits_accuracy_level: 5 })).toBe(
      `${FILE}: "matmul_nbits_accuracy_level": expected an integer from 0 to 4`,
    );
    expect(errorOf({ kv_cache: "paged" })).toBe(
      `${FILE}: "kv_cache": expected "append" or "concat"`,
    );
    expect(errorOf({ queue_delay: "auto" })).toBe(
      `${FILE}: "queue_delay": expected "adaptive" or "fixed"`,
    );
    expect(errorOf({ execution: "main" })).toBe(
      `${FILE}: "execution": expected "auto", "worker" or "inline"`,
    );
    expect(errorOf({ execution: 1 })).toBe(
      `${FILE}: "execution": expected "auto", "worker" or "inline"`,
    );
    expect(errorOf({ queue_delay: true })).toBe(
      `${FILE}: "queue_delay": expected "adaptive" or "fixed"`,
    );
    for (const budget of [-1, 2.5, "64"]) {
      expect(errorOf({ max_prefill_tokens_while_decoding: budget })).toBe(
        `${FILE}: "max_prefill_tokens_while_decoding": expected a non-negative integer`,
      );
    }
    expect(errorOf({ labels: ["a", 3] })).toBe(`${FILE}: "labels[1]": expected a string`);
    expect(errorOf({ session: { graph_optimization_level: "max" } })).toBe(
      `${FILE}: "session.graph_optimization_level": expected "disabled", "basic", "extended" or "all"`,
    );
    for (const nice of [20, -1, 2.5, "5"]) {
      expect(errorOf({ session: { worker_nice: nice } })).toBe(
        `${FILE}: "session.worker_nice": expected an integer from 0 to 19`,
      );
    }
    expect(errorOf({ version_policy: { latest: 0 } })).toBe(
      `${FILE}: "version_policy.latest": expected a positive integer`,
    );
    expect(errorOf({ version_policy: { newest: 2 } })).toBe(
      `${FILE}: "version_policy": expected "all", {"latest": N} or {"specific": [N, ...]} with positive integers`,
    );
    expect(errorOf({ routing: { policy: "weighted", weights: { one: 1 } } })).toMatch(
      /^models\/iris\/model\.json: "routing": expected \{"policy": "newest"\}/,
    );
    expect(errorOf([])).toBe(`${FILE}: expected a JSON object`);
  });

  it("reports every problem at once", () => {
    expect(errorOf({ lables: [], warmup: "yes" })).toBe(
      `${FILE}: "warmup": expected true or false; unknown key "lables"`,
    );
  });
});

describe("effectiveConfigJson", () => {
  it("round-trips through parseModelConfig with defaults included", () => {
    const source = {
      version_policy: "all",
      labels: ["x", "y"],
      session: { intra_op_threads: 4, allow_spinning: false, worker_nice: 0 },
      routing: { policy: "weighted", weights: { "2": 1, "3": 3 } },
    };
    const config = parseModelConfig(source, FILE);
    const json = effectiveConfigJson(config);
    expect(json.max_queue_size).toBe(1024);
    expect(json.queue_delay).toBe("adaptive");
    expect(json.execution).toBe("auto");
    expect(json.version_policy).toBe("all");
    expect(json.routing).toEqual({ policy: "weighted", weights: { "2": 1, "3": 3 } });
    expect(json.session).toEqual({ intra_op_threads: 4, allow_spinning: false, worker_nice: 0 });
    expect(parseModelConfig(json, FILE)).toEqual(config);
    expect(effectiveConfigJson({ ...defaultModelConfig(), kind: "predict" }).kind).toBe("predict");
  });
});

describe("resolveLabelOutput", () => {
  const spec = (name: string, dtype: "float32" | "int64", dims: number[]) => ({
    name,
    dtype,
    dims,
    dimNames: dims.map(() => ""),
  });
  const outputs = [
    spec("label", "int64", [-1, 3]),
    spec("logits", "float32", [-1, 2]),
    spec("probs", "float32", [-1, 3]),
  ];

  it("picks the first float output whose last dim is the label count", () => {
    const config = parseModelConfig({ labels: ["a", "b", "c"] }, FILE);
    expect(resolveLabelOutput(config, outputs)).toBe("probs");
  });

  it("prefers label_output and needs labels", () => {
    const named = parseModelConfig({ labels: ["a", "b", "c"], label_output: "logits" }, FILE);
    expect(resolveLabelOutput(named, outputs)).toBe("logits");
    expect(resolveLabelOutput(defaultModelConfig(), outputs)).toBeUndefined();
  });
});
