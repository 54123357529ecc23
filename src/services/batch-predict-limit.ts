import { type InferdError, invalidArgument } from "../errors/inferd-error.js";

/** Wire number of `BatchPredictRequest.requests`, the items `countFieldTags` counts. */
export const BATCH_PREDICT_ITEMS_FIELD = 1;

/**
 * The refusal of a BatchPredict of `count` items over `--max-batch-predict-items`, in
 * one wording wherever it is counted: by the service after the decode, or from the wire
 * before it (see `createBigMessageCodec`).
 */
export function batchPredictTooLarge(count: number, maxItems: number): InferdError {
  return invalidArgument(
    `BatchPredict carries ${count} items, more than this server's limit of ${maxItems} (--max-batch-predict-items): split it into calls of at most ${maxItems} items, or send them on PredictStream`,
  );
}
