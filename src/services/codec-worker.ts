/**
 * The decode worker thread of `createBigMessageDecoder`: it decodes request bodies of
 * the served Predict-family methods exactly as the lean paths would on the event loop
 * (connect-es's serialization, the server's JSON options, the BatchPredict item limit)
 * and posts the message back with its big tensor values packed into transferred
 * buffers (`packTensorValues`). Protocol: workerData {@link DecodeWorkerData}; each
 * {@link DecodeJob} is answered by one {@link DecodeAnswer} of the same id.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import { strictUtf8Decoder } from "../text/strict-utf8.js";
import { BATCH_PREDICT_ITEMS_FIELD, batchPredictTooLarge } from "./batch-predict-limit.js";
import { countFieldTags } from "./count-field-tags.js";
import { DECODED_METHODS } from "./decoded-methods.js";
import { packTensorValues } from "./pack-tensor-values.js";

export interface DecodeWorkerData {
  readonly maxBatchPredictItems: number;
}

export interface DecodeJob {
  readonly id: number;
  /** The request path, `/package.Service/Method`. */
  readonly path: string;
  readonly binary: boolean;
  readonly bytes: Uint8Array;
}

export type DecodeAnswer =
  | { readonly id: number; readonly message: Message }
  | { readonly id: number; readonly code: Code; readonly error: string };

const BATCH_PREDICT = "/inferd.v1.InferenceService/BatchPredict";
/** The server's JSON options (see `inferd-server.ts`): unknown fields and bad UTF-8 refused. */
const JSON_OPTIONS = { ignoreUnknownFields: false, textDecoder: strictUtf8Decoder };
const { maxBatchPredictItems } = workerData as DecodeWorkerData;

const LIMITS = { readMaxBytes: 0xffffffff, writeMaxBytes: 0xffffffff };
const serializers = new Map(
  [...DECODED_METHODS].map(([path, method]) => [
    path,
    createMethodSerializationLookup(method, undefined, JSON_OPTIONS, LIMITS),
  ]),
);

function decode(job: DecodeJob): Message {
  const serialization = serializers.get(job.path);
  if (serialization === undefined) throw new ConnectError(`no decoder for ${job.path}`);
  const isBatch = job.path === BATCH_PREDICT;
  const wireCount = isBatch && job.binary && countFieldTags(job.bytes, BATCH_PREDICT_ITEMS_FIELD);
  if (typeof wireCount === "number" && wireCount > maxBatchPredictItems) throw tooMany(wireCount);
  const message = serialization.getI(job.binary).parse(job.bytes);
  const items = isBatch ? ((message as { requests?: unknown[] }).requests?.length ?? 0) : 0;
  if (items > maxBatchPredictItems) throw tooMany(items);
  return message;
}

function tooMany(count: number): ConnectError {
  return new ConnectError(
    batchPredictTooLarge(count, maxBatchPredictItems).message,
    Code.InvalidArgument,
  );
}

parentPort?.on("message", (job: DecodeJob) => {
  try {
    const message = decode(job);
    const transfer = packTensorValues(message);
    parentPort?.postMessage({ id: job.id, message } satisfies DecodeAnswer, transfer);
  } catch (error) {
    const e = ConnectError.from(error);
    parentPort?.postMessage({
      id: job.id,
      code: e.code,
      error: e.rawMessage,
    } satisfies DecodeAnswer);
  }
});
