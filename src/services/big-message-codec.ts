import type { Worker } from "node:worker_threads";
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { asRequestParseError } from "../connect-adapter/request-parse-error.js";
import { siblingScriptUrl, startWorker } from "../runtime/start-worker.js";
import { BATCH_PREDICT_ITEMS_FIELD, batchPredictTooLarge } from "./batch-predict-limit.js";
import type { CodecAnswer, CodecJob, CodecWorkerData } from "./codec-worker.js";
import { countFieldTags } from "./count-field-tags.js";
import { DECODED_METHODS } from "./decoded-methods.js";
import { deferredAnswerOf, transferableAnswer } from "./deferred-answer.js";

/** Request bodies from this size on are decoded off the event loop (default 256 KiB). */
export const BIG_MESSAGE_BYTES = 256 * 1024;

const BATCH_PREDICT = "/inferd.v1.InferenceService/BatchPredict";

/** Options of `createBigMessageCodec`. */
export interface BigMessageCodecOptions {
  /** `--max-batch-predict-items`: a binary BatchPredict over it is refused from the wire. */
  readonly maxBatchPredictItems: number;
  /** Bodies from this many bytes on go to the worker (default {@link BIG_MESSAGE_BYTES}). */
  readonly thresholdBytes?: number;
}

/** See {@link createBigMessageCodec}. */
export interface BigMessageCodec {
  /**
   * The request message of `bytes` for the method at `path`, decoded in the worker, or
   * undefined when the caller decodes it itself (a small body: one length check).
   * Rejects with the ConnectError the inline decode would throw (same code and message).
   */
  decode(path: string, bytes: Uint8Array, binary: boolean): Promise<Message> | undefined;
  /**
   * The bytes of a response message for the method at `path`, built and encoded in the
   * worker, or undefined when the caller encodes it itself: any message but a big
   * Predict answer (`answerPredict`; one WeakMap look-up). The bytes are what the
   * caller's own serialization of the message would give.
   */
  encode(path: string, message: Message, binary: boolean): Promise<Uint8Array> | undefined;
  /** Stops the worker; later big messages start a new one. */
  close(): Promise<void>;
}

type Settle = { resolve(answer: CodecAnswer): void; reject(error: unknown): void };

/**
 * Decodes big request bodies of the Predict family (inferd's InferenceService and the
 * Open Inference Protocol's) and encodes big Predict answers in one worker thread,
 * started on the first big message. Why: JSON.parse, protobuf-es's fromJson, fromBinary,
 * toJson and toBinary are each one synchronous piece: a 16 MiB body held the event loop
 * 1-3 s, and the ~130 MB JSON answer to it 2 s more (probes, small calls and every
 * socket waited). A binary BatchPredict over the item limit is refused before any
 * decode, from a count of its items' tags on the wire, whatever its size.
 */
export function createBigMessageCodec(options: BigMessageCodecOptions): BigMessageCodec {
  const threshold = options.thresholdBytes ?? BIG_MESSAGE_BYTES;
  const max = options.maxBatchPredictItems;
  const pending = new Map<number, Settle>();
  let worker: Worker | undefined;
  let nextId = 0;

  // A worker that fails takes its jobs with it; the next big message starts a new one.
  const failAll = (failed: Worker, reason: unknown) => {
    if (worker !== failed) return;
    const error = new ConnectError(
      "the codec worker failed",
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
    const data: CodecWorkerData = { maxBatchPredictItems: max };
    const started = startWorker(workerUrl(), { workerData: data });
    started.on("message", (answer: CodecAnswer) => {
      pending.get(answer.id)?.resolve(answer);
      pending.delete(answer.id);
    });
    started.on("error", (error) => failAll(started, error));
    started.on("exit", () => failAll(started, new Error("the codec worker exited")));
    started.unref();
    return started;
  };
  const post = (job: CodecJob, transfer: ArrayBuffer[]): Promise<CodecAnswer> => {
    worker ??= start();
    worker.postMessage(job, transfer);
    return new Promise((resolve, reject) => pending.set(job.id, { resolve, reject }));
  };
  const failed = (answer: CodecAnswer): ConnectError | undefined =>
    "error" in answer ? new ConnectError(answer.error, answer.code) : undefined;

  return {
    decode(path, bytes, binary) {
      const big = bytes.byteLength >= threshold;
      // A big body's items are counted in the worker (16 MiB took 30-47 ms of the loop's CPU).
      if (binary && path === BATCH_PREDICT && !big) {
        const count = countFieldTags(bytes, BATCH_PREDICT_ITEMS_FIELD) ?? 0;
        if (count > max) {
          const refusal = batchPredictTooLarge(count, max).message;
          return Promise.reject(new ConnectError(refusal, Code.InvalidArgument));
        }
      }
      if (!big || !DECODED_METHODS.has(path)) return undefined;
      return post({ id: nextId++, kind: "decode", path, binary, bytes }, ownBuffer(bytes)).then(
        (answer) => {
          const error = failed(answer);
          if (error) throw asRequestParseError(error);
          return (answer as { message: Message }).message;
        },
      );
    },
    encode(path, message, binary) {
      const deferred = deferredAnswerOf(message);
      if (deferred === undefined || !DECODED_METHODS.has(path)) return undefined;
      const { answer, transfer } = transferableAnswer(deferred);
      return post({ id: nextId++, kind: "encode", path, binary, answer }, transfer).then((done) => {
        const error = failed(done);
        if (error) throw error;
        return (done as { bytes: Uint8Array }).bytes;
      });
    },
    async close() {
      const stopping = worker;
      if (stopping === undefined) return;
      failAll(stopping, new Error("the server is closing"));
      await stopping.terminate();
    },
  };
}

/**
 * The buffer of `bytes` to transfer to the worker when `bytes` spans all of it (a body
 * read into a buffer of its own, as every lean path reads a big one), else none (a view
 * into a larger buffer is copied). Why: a structured clone copies 16 MiB on the event
 * loop (10-80 ms measured), a transfer nothing; the caller never reads a body it handed
 * to `decode` again.
 */
function ownBuffer(bytes: Uint8Array): ArrayBuffer[] {
  const { buffer } = bytes;
  const whole = bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength;
  return whole && buffer instanceof ArrayBuffer ? [buffer] : [];
}

/** The worker script beside this module (see `siblingScriptUrl`). */
function workerUrl(): URL {
  return siblingScriptUrl("codec-worker", import.meta.url);
}
