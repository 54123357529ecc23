import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { GenerationService } from "../../gen/inferd/v1/generation_pb.js";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";

/**
 * Fake inferd services for interceptor tests. Predict: model "bad" fails with
 * InvalidArgument, model "crash" with an internal error, anything else answers
 * version 3. Generate streams `prompt.length` chunks, failing after the first
 * when the model is "overload". PredictStream echoes one result per request.
 */
export function fakeRoutes(interceptors: Interceptor[]) {
  return (router: ConnectRouter) => {
    router.service(
      InferenceService,
      {
        predict(req) {
          if (req.model === "bad") {
            throw new ConnectError("input x must be float32", Code.InvalidArgument);
          }
          if (req.model === "crash") throw new Error("session exploded");
          return { model: req.model, version: 3, requestId: req.requestId || "generated-id" };
        },
        batchPredict() {
          return { results: [] };
        },
        async *predictStream(requests) {
          for await (const r of requests) {
            yield { result: { requestId: r.request?.requestId ?? "" } };
          }
        },
      },
      { interceptors },
    );
    router.service(
      GenerationService,
      {
        async *generate(req) {
          for (let i = 0; i < req.prompt.length; i++) {
            if (i === 1 && req.model === "overload") {
              throw new ConnectError("kv cache full", Code.ResourceExhausted);
            }
            yield { requestId: req.requestId, text: req.prompt[i] ?? "", version: 2 };
          }
        },
        tokenize() {
          return {};
        },
        detokenize() {
          return {};
        },
      },
      { interceptors },
    );
  };
}
