import type {
  Classification,
  LabelScore,
  PredictResponse,
} from "../../gen/inferd/v1/inference_pb.js";
import type { Classification as DomainClassification } from "../inference/classify.js";
import type { PredictResult } from "../inference/predictor.js";
import { encodeOutputs } from "./tensor-codec.js";

/**
 * The PredictResponse of a domain result, `raw` as the client asked (`raw_outputs`).
 * proto3 messages are plain objects in protobuf-es v2, so the response and its labels
 * are built as literals with every field set, as `create()` would set them: `create()`
 * costs a schema walk per message, and a response has one per label of every row.
 */
export function toPredictResponse(result: PredictResult, raw: boolean): PredictResponse {
  return {
    $typeName: "inferd.v1.PredictResponse",
    model: result.model,
    version: result.version,
    outputs: encodeOutputs(result.outputs, raw),
    requestId: result.requestId,
    classifications: result.classifications.map(toClassification),
  };
}

function toClassification(c: DomainClassification): Classification {
  const top: LabelScore[] = c.top.map((t) => ({
    $typeName: "inferd.v1.LabelScore",
    label: t.label,
    score: t.score,
    index: t.index,
  }));
  return { $typeName: "inferd.v1.Classification", top };
}
