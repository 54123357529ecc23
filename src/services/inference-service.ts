import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  type InferenceService,
  type PredictRequest,
  PredictRequestSchema,
  type PredictResult,
  PredictResultSchema,
  PredictStreamResponseSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import type { PredictCall, Predictor } from "../inference/predictor.js";
import { batchPredictTooLarge } from "./batch-predict-limit.js";
import { answerPredict } from "./deferred-answer.js";
import { linkDomainSignal, toDomainSignal } from "./domain-signal.js";
import { mapOrdered } from "./map-ordered.js";
import { toPredictResponse } from "./predict-response.js";
import { slicedItems } from "./sliced-items.js";
import { decodeInputs } from "./tensor-codec.js";
import { type ErrorLogger, toStatusMessage } from "./to-connect-error.js";

/** Options of `createInferenceService`. */
export interface InferenceServiceOptions {
  readonly predictor: Predictor;
  readonly logger?: ErrorLogger;
  /** PredictStream messages processed at once per stream (default 64). */
  readonly streamConcurrency?: number;
  /**
   * Items of one BatchPredict in flight at once (default 1,024, the default
   * `max_queue_size`): a call up to this size is batched exactly as concurrent
   * Predicts would be, and a larger one cannot fill a default-sized queue with its
   * own items and fail the rest of itself.
   */
  readonly batchWindow?: number;
  /**
   * Most items one BatchPredict may carry (`--max-batch-predict-items`, default 256): a
   * larger call is refused whole with invalid_argument naming the flag, as Triton refuses
   * a batch over its limit. It bounds the one synchronous decode and encode of the call's
   * message, which no slicing can split.
   */
  readonly maxBatchPredictItems?: number;
}

/** BatchPredict items started per event-loop turn: each decodes and validates synchronously. */
const ITEMS_PER_TURN = 32;

function toCall(request: PredictRequest, context: HandlerContext): PredictCall {
  const timeoutMs = context.timeoutMs();
  return {
    model: request.model,
    ...(request.version !== 0 && { version: request.version }),
    inputs: decodeInputs(request.inputs),
    outputs: request.outputs,
    requestId: request.requestId || randomUUID(),
    topK: request.topK,
    priority: request.priority,
    ...(timeoutMs !== undefined && { timeoutMs }),
  };
}

/**
 * The call's domain signal, shared by every item of a BatchPredict or PredictStream:
 * each item in flight listens for the abort until it settles, so many listeners are
 * expected and Node's "possible leak" warning (at 11) would be noise in the logs.
 */
function sharedDomainSignal(context: HandlerContext): AbortSignal {
  const signal = toDomainSignal(context.signal);
  setMaxListeners(0, signal);
  return signal;
}

/**
 * Connect handlers for `inferd.v1.InferenceService`: decode, run the
 * {@link Predictor} under the call's signal, encode. Per-item errors of BatchPredict
 * and PredictStream become that item's Status; the call itself keeps going. Other errors
 * are thrown as domain errors: mount with `withErrorMapping` (as `createInferdRoutes` does).
 */
export function createInferenceService(
  options: InferenceServiceOptions,
): ServiceImpl<typeof InferenceService> {
  const { predictor, logger } = options;
  const concurrency = options.streamConcurrency ?? 64;
  const batchWindow = options.batchWindow ?? 1024;
  const maxItems = options.maxBatchPredictItems ?? 256;

  async function predictOne(
    request: PredictRequest,
    context: HandlerContext,
    signal: AbortSignal,
  ): Promise<PredictResult> {
    const requestId = request.requestId || randomUUID();
    try {
      const call = toCall({ ...request, requestId }, context);
      const response = toPredictResponse(await predictor.predict(call, signal), request.rawOutputs);
      return create(PredictResultSchema, {
        requestId,
        result: { case: "response", value: response },
      });
    } catch (error) {
      return create(PredictResultSchema, {
        requestId,
        result: { case: "error", value: toStatusMessage(error, logger) },
      });
    }
  }

  return {
    async predict(request, context) {
      const run = (signal: AbortSignal) =>
        predictor
          .predict(toCall(request, context), signal)
          .then((result) => answerPredict(result, request.rawOutputs));
      // Without a deadline, every abort (the client, the cut-off) is a cancel to the core
      // as it is to Connect: the handler's own signal serves, with no linked
      // AbortController and listener per call. A deadline needs the domain signal, so
      // that the core (its queue, its metrics) reads it as deadline_exceeded.
      if (context.timeoutMs() === undefined) return run(context.signal);
      const link = linkDomainSignal(context.signal);
      try {
        return await run(link.signal);
      } finally {
        link.unlink();
      }
    },

    async batchPredict(request, context) {
      const count = request.requests.length;
      if (count > maxItems) throw batchPredictTooLarge(count, maxItems);
      const signal = sharedDomainSignal(context);
      const results: PredictResult[] = [];
      const items = slicedItems(request.requests, ITEMS_PER_TURN);
      const each = (r: PredictRequest) => predictOne(r, context, signal);
      for await (const result of mapOrdered(items, each, batchWindow)) results.push(result);
      return { results };
    },

    async *predictStream(requests, context) {
      const signal = sharedDomainSignal(context);
      const results = mapOrdered(
        requests,
        (message) => predictOne(message.request ?? create(PredictRequestSchema), context, signal),
        concurrency,
      );
      for await (const result of results) {
        if (signal.aborted) return;
        yield create(PredictStreamResponseSchema, { result });
      }
    },
  };
}
