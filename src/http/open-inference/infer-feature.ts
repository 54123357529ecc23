import type { OpenInference } from "../../open-inference/open-inference.js";
import { sendJson } from "../http-route.js";
import { parseInferRequest } from "./infer-request.js";
import { encodeInferAnswer } from "./infer-response.js";
import { MODEL_ROUTE } from "./oip-path.js";
import type { OipCall, OipFeature } from "./oip-router.js";

const versionOf = (call: OipCall) => (call.version === undefined ? "" : String(call.version));

/**
 * Model metadata and inference over the protocol-neutral core (`OpenInference`, the
 * same path as gRPC's ModelMetadata and ModelInfer, hence as Predict):
 * `GET /v2/models/{m}[/versions/{v}]` answers `{name, versions, platform, inputs,
 * outputs}`; `POST /v2/models/{m}[/versions/{v}]/infer` takes JSON tensors and
 * Triton's binary tensor extension (`Inference-Header-Content-Length`), with the
 * `priority`, `timeout` (microseconds) and per-output `classification` parameters.
 */
export function inferFeature(core: OpenInference): OipFeature {
  return {
    extensions: ["binary_tensor_data", "classification"],
    endpoints: [
      {
        route: MODEL_ROUTE,
        method: "GET",
        handle: async (call) => {
          sendJson(call.req, call.res, 200, core.modelMetadata(call.model, versionOf(call)));
        },
      },
      { route: `${MODEL_ROUTE}/infer`, method: "POST", handle: infer },
    ],
  };

  async function infer(call: OipCall): Promise<void> {
    const header = call.req.headers["inference-header-content-length"];
    const request = parseInferRequest(await call.bytes(), {
      model: call.model,
      version: call.version,
      headerLength: Array.isArray(header) ? header.join(",") : header,
    });
    const answer = encodeInferAnswer(request, await core.infer(request, call.signal));
    call.res.writeHead(200, { ...answer.headers, "cache-control": "no-store" });
    call.res.end(answer.body);
  }
}
