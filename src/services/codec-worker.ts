/**
 * The codec worker thread of `createBigMessageCodec`. It decodes request bodies of the
 * served Predict-family methods exactly as the lean paths would on the event loop
 * (connect-es's serialization, the server's JSON options, the BatchPredict item limit)
 * and posts the message back with its big tensor values packed into transferred
 * buffers (`packTensorValues`); and it builds and encodes big Predict answers from
 * their domain form (`DeferredAnswer`: classifications, the response message, binary
 * or JSON as connect-es would write it), posting back the bytes. Protocol: workerData
 * {@link CodecWorkerData}; each {@link CodecJob} is answered by one {@link CodecAnswer}
 * of the same id.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import { topKLabels } from "../inference/classify.js";
import { strictUtf8Decoder } from "../text/strict-utf8.js";
import { BATCH_PREDICT_ITEMS_FIELD, batchPredictTooLarge } from "./batch-predict-limit.js";
import { countFieldTags } from "./count-field-tags.js";
import { DECODED_METHODS } from "./decoded-methods.js";
import type { DeferredAnswer } from "./deferred-answer.js";
import { packTensorValues } from "./pack-tensor-values.js";
import { toPredictResponse } from "./predict-response.js";

export interface CodecWorkerData {
  readonly maxBatchPredictItems: number;
}

/** A request body to decode, or a deferred answer to build and encode, for the method at `path`. */
export type CodecJob = { readonly id: number; readonly path: string; readonly binary: boolean } & (
  | { readonly kind: "decode"; readonly bytes: Uint8Array }
  | { readonly kind: "encode"; readonly answer: DeferredAnswer }
);

export type CodecAnswer =
  | { readonly id: number; readonly message: Message }
  | { readonly id: number; readonly bytes: Uint8Array }
  | { readonly id: number; readonly code: Code; readonly error: string };

const BATCH_PREDICT = "/inferd.v1.InferenceService/BatchPredict";
/** The server's JSON options (see `inferd-server.ts`): unknown fields and bad UTF-8 refused. */
const JSON_OPTIONS = { ignoreUnknownFields: false, textDecoder: strictUtf8Decoder };
const { maxBatchPredictItems } = workerData as CodecWorkerData;

const LIMITS = { readMaxBytes: 0xffffffff, writeMaxBytes: 0xffffffff };
const serializers = new Map(
  [...DECODED_METHODS].map(([path, method]) => [
    path,
    createMethodSerializationLookup(method, undefined, JSON_OPTIONS, LIMITS),
  ]),
);

function serializationOf(path: string) {
  const serialization = serializers.get(path);
  if (serialization === undefined) throw new ConnectError(`no codec for ${path}`);
  return serialization;
}

function decode(path: string, binary: boolean, bytes: Uint8Array): Message {
  const isBatch = path === BATCH_PREDICT;
  const wireCount = isBatch && binary && countFieldTags(bytes, BATCH_PREDICT_ITEMS_FIELD);
  if (typeof wireCount === "number" && wireCount > maxBatchPredictItems) throw tooMany(wireCount);
  const message = serializationOf(path).getI(binary).parse(bytes);
  const items = isBatch ? ((message as { requests?: unknown[] }).requests?.length ?? 0) : 0;
  if (items > maxBatchPredictItems) throw tooMany(items);
  return message;
}

function encode(path: string, binary: boolean, { result, raw }: DeferredAnswer): Uint8Array {
  const s = result.scoring;
  const classifications = s ? topKLabels(s.scores, s.labels, s.k, s.outputName) : [];
  const response = toPredictResponse({ ...result, classifications }, raw);
  return serializationOf(path).getO(binary).serialize(response);
}

function tooMany(count: number): ConnectError {
  return new ConnectError(
    batchPredictTooLarge(count, maxBatchPredictItems).message,
    Code.InvalidArgument,
  );
}

function answer(job: CodecJob): { answer: CodecAnswer; transfer: ArrayBuffer[] } {
  if (job.kind === "encode") {
    const bytes = encode(job.path, job.binary, job.answer);
    return { answer: { id: job.id, bytes }, transfer: [bytes.buffer as ArrayBuffer] };
  }
  const message = decode(job.path, job.binary, job.bytes);
  return { answer: { id: job.id, message }, transfer: packTensorValues(message) };
}

parentPort?.on("message", (job: CodecJob) => {
  try {
    const { answer: done, transfer } = answer(job);
    parentPort?.postMessage(done, transfer);
  } catch (error) {
    const e = ConnectError.from(error);
    parentPort?.postMessage({
      id: job.id,
      code: e.code,
      error: e.rawMessage,
    } satisfies CodecAnswer);
  }
});
