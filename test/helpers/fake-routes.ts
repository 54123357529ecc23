import type { ConnectRouter } from "@connectrpc/connect";
import { InferenceService } from "../../gen/inferd/v1/inference_pb.js";

/** Hooks a test uses to see calls arrive. */
export interface FakeRouteEvents {
  /** Called when a Predict for model "slow" starts. */
  onSlowStart?: () => void;
}

/**
 * Stand-in for `createInferdRoutes`: Predict echoes model and request id (model
 * "slow" takes `version` ms, ignoring its signal like a run already on a worker;
 * "patient" takes `version` ms unless its signal aborts first),
 * BatchPredict answers one result per request, PredictStream echoes each request id.
 */
export function fakeRoutes(events: FakeRouteEvents = {}) {
  return (router: ConnectRouter) => {
    router.service(InferenceService, {
      async predict(req, context) {
        if (req.model === "patient") {
          // Takes `version` ms unless the call's deadline or cancel comes first.
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(resolve, req.version);
            context.signal.addEventListener("abort", () => {
              clearTimeout(timer);
              reject(context.signal.reason);
            });
          });
        }
        if (req.model === "slow") {
          events.onSlowStart?.();
          await new Promise((resolve) => setTimeout(resolve, req.version));
        }
        return { model: req.model, version: 7, requestId: req.requestId };
      },
      batchPredict(req) {
        return { results: req.requests.map((r) => ({ requestId: r.requestId })) };
      },
      async *predictStream(requests) {
        for await (const r of requests) {
          yield { result: { requestId: r.request?.requestId ?? "" } };
        }
      },
    });
  };
}
