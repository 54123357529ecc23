import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { API_KEY_REQUIRED, type ApiKeyVerifier } from "../auth/api-key-verifier.js";

/**
 * Services answered without a key: health checks (load balancers and kubelet probes
 * carry no credentials) and server reflection (the schema only, so that grpcurl and
 * `buf curl` can describe the API). The same split as vLLM's `--api-key`, which guards
 * the API and leaves /health and /metrics open.
 */
export const OPEN_SERVICES: readonly string[] = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

/**
 * Server interceptor that refuses calls without a valid `Authorization: Bearer <key>`
 * header with Unauthenticated, before the handler runs. Place it after the logging and
 * metrics interceptors, so that refused calls are logged and counted (never the key).
 */
export function createApiKeyInterceptor(
  verify: ApiKeyVerifier,
  open: readonly string[] = OPEN_SERVICES,
): Interceptor {
  const exempt = new Set(open);
  return (next) => async (req) => {
    if (!exempt.has(req.service.typeName) && !verify(req.header.get("authorization"))) {
      throw new ConnectError(API_KEY_REQUIRED, Code.Unauthenticated);
    }
    return next(req);
  };
}
