/**
 * Entry point of a generation worker thread: owns one onnxruntime session for a
 * decoder model and runs the continuous-batching scheduler, so that no token is
 * computed on the server's event loop. Streams each step's events back in one message.
 */
import { join } from "node:path";
import { readOnnxWeightBytes } from "../../onnx/read-onnx-weight-bytes.js";
import { serveWorker } from "../../runtime/serve-worker.js";
import { openDecoderSession } from "../decoder-load/decoder-session.js";
import type {
  FromGenerationWorker,
  GenerationWorkerData,
  ToGenerationWorker,
} from "../engine/generation-protocol.js";
import { kvCacheBytesPerToken } from "../engine/kv-cache-memory.js";
import { PREFIX_BLOCK_TOKENS, PrefixCache } from "../engine/prefix-cache.js";
import { sharedRunSlack } from "../engine/running-groups.js";
import { GenerationScheduler } from "../engine/scheduler.js";
import { loadGenerationConfig } from "../request/generation-config.js";
import { loadTextTokenizer } from "../request/tokenizer.js";

type FromStep = Extract<FromGenerationWorker, { type: "step" }>;

serveWorker<GenerationWorkerData, ToGenerationWorker, FromGenerationWorker>(
  "generation-worker.ts",
  async (data, send) => {
    const [tokenizer, config] = await Promise.all([
      loadTextTokenizer(data.dir),
      loadGenerationConfig(data.dir),
    ]);
    const modelPath = data.modelPath || join(data.dir, "model.onnx");
    const { session, signature, kvCacheNote } = await openDecoderSession(
      modelPath,
      data.session,
      config,
      data.kvCache,
      data.matmulNBitsAccuracyLevel === undefined
        ? {}
        : { matmulNBitsAccuracyLevel: data.matmulNBitsAccuracyLevel },
    );
    const kvBytesPerToken = kvCacheBytesPerToken(signature, session.inputs);
    // Headers only (kilobytes of I/O); the session has already read the file.
    const weightBytes = await readOnnxWeightBytes(modelPath).catch(() => 0);
    const prefixCache =
      data.prefixCacheBytes > 0
        ? new PrefixCache(data.prefixCacheBytes, PREFIX_BLOCK_TOKENS * kvBytesPerToken)
        : undefined;
    const step = (events: FromStep["events"]): FromStep => {
      const prefix = scheduler.prefixStats();
      return { type: "step", events, kv: scheduler.kvSlots(), ...(prefix && { prefix }) };
    };
    const scheduler = new GenerationScheduler({
      runner: session,
      signature,
      tokenizer,
      maxConcurrentSequences: data.maxConcurrentSequences,
      maxPrefillTokensPerStep: data.maxPrefillTokensPerStep,
      maxPrefillTokensWhileDecoding: data.maxPrefillTokensWhileDecoding,
      sharedRunSlack: sharedRunSlack(weightBytes, kvBytesPerToken),
      ...(prefixCache && { prefixCache }),
      emit: (events) => send(step(events)),
      onIdle: () => send(step([])),
    });
    return {
      ready: {
        inputs: session.inputs,
        outputs: session.outputs,
        kvCache: signature.kvCache,
        kvCacheNote,
        kvBytesPerToken,
      },
      handle: (message) => {
        if (message.type === "generate") scheduler.submit(message.id, message.job, message.client);
        else scheduler[message.type](message.id);
      },
      // Sequences still running (cancelled by the parent) finish before the session goes.
      close: () => scheduler.idle().then(() => session.release()),
    };
  },
);
