import type { Interceptor } from "@connectrpc/connect";
import type { ApiKeyVerifier } from "../auth/api-key-verifier.js";
import { asKeyRing } from "../auth/as-key-ring.js";
import { callerKeyName } from "../auth/caller-key.js";
import type { KeyRing } from "../auth/key-ring.js";
import { needsKey, scopeOfMethod } from "../auth/scope-table.js";
import { admissionError } from "../services/admission-error.js";

/**
 * Services answered without a key: health checks (load balancers and kubelet probes
 * carry no credentials) and server reflection (the schema only, so that grpcurl and
 * `buf curl` can describe the API). The same split as vLLM's `--api-key`, which guards
 * the API and leaves /health and /metrics open. (The scope table marks them "open" too.)
 */
export const OPEN_SERVICES: readonly string[] = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

/**
 * Server interceptor that admits each call by its `Authorization: Bearer <key>` header
 * and the scope `auth/scope-table.ts` gives its method, before the handler runs:
 * Unauthenticated without a valid key, PermissionDenied for a key without the scope,
 * ResourceExhausted with RetryInfo over the key's limits. The admitted key's name goes
 * into the call's context values ({@link callerKeyName}) for the access log. Place it
 * after the logging and metrics interceptors, so that refused calls are logged and
 * counted (never the key). Takes a {@link KeyRing} or a plain {@link ApiKeyVerifier}.
 */
export function createApiKeyInterceptor(
  keys: ApiKeyVerifier | KeyRing,
  open: readonly string[] = OPEN_SERVICES,
): Interceptor {
  const ring = asKeyRing(keys);
  const exempt = new Set(open);
  return (next) => async (req) => {
    if (exempt.has(req.service.typeName)) return next(req);
    const scope = scopeOfMethod(req.service.typeName, req.method.name);
    if (!needsKey(scope)) return next(req);
    const admission = ring.authorize(req.header.get("authorization"), scope);
    if ("key" in admission) req.contextValues.set(callerKeyName, admission.key);
    if (!admission.ok) throw admissionError(admission);
    return next(req);
  };
}
