import type { Worker } from "node:worker_threads";
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { asRequestParseError } from "../connect-adapter/request-parse-error.js";
import { startWorker } from "../runtime/start-worker.js";
import { BATCH_PREDICT_ITEMS_FIELD, batchPredictTooLarge } from "./batch-predict-limit.js";
import { countFieldTags } from "./count-field-tags.js";
import type { DecodeAnswer, DecodeJob, DecodeWorkerData } from "./decode-worker.js";
import { DECODED_METHODS } from "./decoded-methods.js";

/** Request bodies from this size on are decoded off the event loop (default 256 KiB). */
export const BIG_MESSAGE_BYTES = 256 * 1024;

const BATCH_PREDICT = "/inferd.v1.InferenceService/BatchPredict";

/** Options of `createBigMessageDecoder`. */
export interface BigMessageDecoderOptions {
  /** `--max-batch-predict-items`: a binary BatchPredict over it is refused from the wire. */
  readonly maxBatchPredictItems: number;
  /** Bodies from this many bytes on go to the worker (default {@link BIG_MESSAGE_BYTES}). */
  readonly thresholdBytes?: number;
}

/** See {@link createBigMessageDecoder}. */
export interface BigMessageDecoder {
  /**
   * The request message of `bytes` for the method at `path`, decoded in the worker, or
   * undefined when the caller decodes it itself (a small body: one length check).
   * Rejects with the ConnectError the inline decode would throw (same code and message).
   */
  decode(path: string, bytes: Uint8Array, binary: boolean): Promise<Message> | undefined;
  /** Stops the worker; later big bodies start a new one. */
  close(): Promise<void>;
}

/**
 * Decodes big request bodies of the Predict family (inferd's InferenceService and the
 * Open Inference Protocol's) in one worker thread, started on the first big body. Why:
 * JSON.parse, protobuf-es's fromJson and fromBinary are each one synchronous piece, and
 * a 16 MiB body held the event loop 1-3 s (probes, small calls and every socket waited).
 * A binary BatchPredict over the item limit is refused before any decode, from a count
 * of its items' tags on the wire, whatever its size.
 */
export function createBigMessageDecoder(options: BigMessageDecoderOptions): BigMessageDecoder {
  const threshold = options.thresholdBytes ?? BIG_MESSAGE_BYTES;
  const max = options.maxBatchPredictItems;
  const pending = new Map<number, { resolve(m: Message): void; reject(e: unknown): void }>();
  let worker: Worker | undefined;
  let nextId = 0;

  // A worker that fails takes its jobs with it; the next big body starts a new one.
  const failAll = (failed: Worker, reason: unknown) => {
    if (worker !== failed) return;
    const error = new ConnectError(
      "the decode worker failed",
      Code.Internal,
      undefined,
      undefined,
      reason,
    );
    for (const job of pending.values()) job.reject(error);
    pending.clear();
    worker = undefined;
  };
  const start = (): Worker => {
    const data: DecodeWorkerData = { maxBatchPredictItems: max };
    const started = startWorker(workerUrl(), { workerData: data });
    started.on("message", (answer: DecodeAnswer) => settle(answer));
    started.on("error", (error) => failAll(started, error));
    started.on("exit", () => failAll(started, new Error("the decode worker exited")));
    started.unref();
    return started;
  };
  const settle = (answer: DecodeAnswer) => {
    const job = pending.get(answer.id);
    pending.delete(answer.id);
    if ("message" in answer) job?.resolve(answer.message);
    else job?.reject(asRequestParseError(new ConnectError(answer.error, answer.code)));
  };

  return {
    decode(path, bytes, binary) {
      if (binary && path === BATCH_PREDICT) {
        const count = countFieldTags(bytes, BATCH_PREDICT_ITEMS_FIELD) ?? 0;
        if (count > max) {
          const refusal = batchPredictTooLarge(count, max).message;
          return Promise.reject(new ConnectError(refusal, Code.InvalidArgument));
        }
      }
      if (bytes.byteLength < threshold || !DECODED_METHODS.has(path)) return undefined;
      worker ??= start();
      const id = nextId++;
      const job: DecodeJob = { id, path, binary, bytes };
      worker.postMessage(job);
      return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
    },
    async close() {
      const stopping = worker;
      if (stopping === undefined) return;
      failAll(stopping, new Error("the server is closing"));
      await stopping.terminate();
    },
  };
}

/** The worker script beside this module: `.ts` from source, `.js` under `dist/`. */
function workerUrl(): URL {
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  return new URL(`./decode-worker.${ext}`, import.meta.url);
}
