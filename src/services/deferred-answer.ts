import type { PredictResponse } from "../../gen/inferd/v1/inference_pb.js";
import type { PredictResult } from "../inference/predictor.js";
import type { HostTensor } from "../tensor/host-tensor.js";
import { toPredictResponse } from "./predict-response.js";

/**
 * Answers of at least this many values (output elements, plus the scores classified)
 * are deferred: 64 Ki values is ~0.5 ms of building and ~2 ms of JSON on the loop.
 */
export const BIG_ANSWER_VALUES = 64 * 1024;

/** A big Predict answer in domain form: what the codec worker builds the response from. */
export interface DeferredAnswer {
  readonly result: Omit<PredictResult, "classifications">;
  /** The request's `raw_outputs`. */
  readonly raw: boolean;
}

const deferred = new WeakMap<object, DeferredAnswer>();

/**
 * The PredictResponse of `result`. A small one is built at once; a big one is a
 * message whose `outputs` and `classifications` are built on first read, with its
 * domain form kept beside it ({@link deferredAnswerOf}), so that a lean path hands it
 * to the codec worker to build and encode, and the event loop never builds it. Any
 * other reader (connect-node's serialization, for a call that took its path) sees the
 * very message `toPredictResponse` builds. Why: a million iris rows answer in ~130 MB
 * of JSON; building and encoding it held the loop 2 s, and its garbage 2 s more.
 */
export function answerPredict(result: PredictResult, raw: boolean): PredictResponse {
  if (answerValues(result) < BIG_ANSWER_VALUES) return toPredictResponse(result, raw);
  let built: PredictResponse | undefined;
  const build = () => {
    built ??= toPredictResponse(result, raw);
    return built;
  };
  const message: PredictResponse = {
    $typeName: "inferd.v1.PredictResponse",
    model: result.model,
    version: result.version,
    get outputs() {
      return build().outputs;
    },
    requestId: result.requestId,
    get classifications() {
      return build().classifications;
    },
  };
  const { model, version, requestId, outputs, scoring } = result;
  deferred.set(message, {
    result: { model, version, requestId, outputs, ...(scoring && { scoring }) },
    raw,
  });
  return message;
}

/** The domain form of a message `answerPredict` deferred, else undefined. */
export function deferredAnswerOf(message: object): DeferredAnswer | undefined {
  return deferred.get(message);
}

function answerValues(result: PredictResult): number {
  let values = result.scoring?.scores.data.length ?? 0;
  for (const name in result.outputs) values += result.outputs[name]?.data.length ?? 0;
  return values;
}

/**
 * `answer` with each tensor's values copied into a buffer of their own, and those
 * buffers, to transfer to the worker: an output may be a view into a batch's buffer
 * that other calls still read, and a structured clone would copy all of that buffer.
 */
export function transferableAnswer(answer: DeferredAnswer): {
  answer: DeferredAnswer;
  transfer: ArrayBuffer[];
} {
  const copies = new Map<HostTensor, HostTensor>();
  const transfer: ArrayBuffer[] = [];
  const copy = (tensor: HostTensor): HostTensor => {
    let copied = copies.get(tensor);
    if (copied === undefined) {
      const data = Array.isArray(tensor.data) ? tensor.data : tensor.data.slice();
      if (!Array.isArray(data)) transfer.push(data.buffer as ArrayBuffer);
      copied = { ...tensor, data } as HostTensor;
      copies.set(tensor, copied);
    }
    return copied;
  };
  const { outputs, scoring } = answer.result;
  const result = {
    ...answer.result,
    outputs: Object.fromEntries(Object.entries(outputs).map(([n, t]) => [n, copy(t)])),
    ...(scoring && { scoring: { ...scoring, scores: copy(scoring.scores) } }),
  };
  return { answer: { result, raw: answer.raw }, transfer };
}
