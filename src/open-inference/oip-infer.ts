import { findLabelOutput } from "../inference/classify.js";
import type { PredictCall, Predictor, PredictResult } from "../inference/predictor.js";
import type { ModelRegistry } from "../registry/model-registry.js";
import { classifyOutput } from "./oip-classification.js";
import { toOipDatatype } from "./oip-datatype.js";
import { inOipTerms } from "./oip-error-terms.js";
import { toTensorInputs } from "./oip-input.js";
import {
  countParameter,
  flagParameter,
  parseModelVersion,
  toInferdPriority,
} from "./oip-parameters.js";
import type { OipInferRequest, OipInferResult, OipOutput } from "./oip-tensor.js";

/** What {@link inferOip} runs on: the Predict use case, and the registry for labels and priority levels. */
export interface OipInferDeps {
  readonly predictor: Predictor;
  readonly registry: Pick<ModelRegistry, "get">;
}

function configOf(registry: OipInferDeps["registry"], model: string) {
  return registry.get(model).config as {
    labels?: string[];
    label_output?: string;
    priority_levels?: number;
  };
}

/** The labels of `output` when it is the model's scored output, else none (Triton then omits the label). */
function labelsFor(deps: OipInferDeps, result: PredictResult, output: string): readonly string[] {
  const status = deps.registry.get(result.model);
  const config = status.config as { labels?: string[]; label_output?: string };
  const labels = config.labels ?? [];
  const specs = status.versions.find((v) => v.version === result.version)?.outputs ?? [];
  if (labels.length === 0) return [];
  return findLabelOutput(specs, labels.length, config.label_output) === output ? labels : [];
}

function toCall(
  deps: OipInferDeps,
  request: OipInferRequest,
  timeoutMs: number | undefined,
): PredictCall {
  const version = parseModelVersion(request.version);
  const inputs = toTensorInputs(request.inputs, request.rawPerInput);
  const level = countParameter(request.parameters, "priority");
  const levels = level ? (configOf(deps.registry, request.model).priority_levels ?? 0) : 0;
  const priority = toInferdPriority(level, levels);
  return {
    model: request.model,
    ...(version !== undefined && { version }),
    inputs,
    outputs: (request.outputs ?? []).map((o) => o.name),
    ...(request.id !== "" && { requestId: request.id }),
    ...(priority !== undefined && { priority }),
    ...(timeoutMs !== undefined && { timeoutMs }),
  };
}

function wantsRaw(request: OipInferRequest): boolean {
  return (
    request.inputs.some((i) => i.raw !== undefined) ||
    flagParameter(request.parameters, "binary_data") ||
    flagParameter(request.parameters, "binary_data_output") ||
    (request.outputs ?? []).some((o) =>
      flagParameter(o.parameters, "binary_data", `output "${o.name}"`),
    )
  );
}

function toOutputs(
  deps: OipInferDeps,
  request: OipInferRequest,
  result: PredictResult,
): OipOutput[] {
  const requested = request.outputs ?? [];
  const names = requested.length > 0 ? requested.map((o) => o.name) : Object.keys(result.outputs);
  return [...new Set(names)].flatMap((name) => {
    const produced = result.outputs[name];
    if (produced === undefined) return [];
    const parameters = requested.find((o) => o.name === name)?.parameters;
    const count = countParameter(parameters, "classification", `output "${name}"`);
    const tensor = count
      ? classifyOutput(produced, count, labelsFor(deps, result, name))
      : produced;
    return [{ name, datatype: toOipDatatype(tensor.dtype), shape: tensor.dims, tensor }];
  });
}

/**
 * One protocol infer request through inferd's Predict path: the request mapped
 * onto a {@link PredictCall} (version "" = routing policy; `priority` as Triton's
 * levels; `timeout` in microseconds, which with `transportTimeoutMs`, the
 * transport's own deadline, whichever is sooner, becomes the call's deadline), run
 * under `signal`, and the result mapped back: requested outputs in request order
 * (else the model's), `classification` outputs as BYTES "score:index[:label]",
 * `id` echoed. Throws domain errors (invalid_argument for a bad request, not_found
 * for an unknown model or version, ...), worded in the protocol's terms ({@link inOipTerms}).
 */
export async function inferOip(
  deps: OipInferDeps,
  request: OipInferRequest,
  signal: AbortSignal,
  transportTimeoutMs?: number,
): Promise<OipInferResult> {
  const timeoutUs = countParameter(request.parameters, "timeout");
  const ownMs = timeoutUs ? timeoutUs / 1000 : undefined;
  const timeoutMs =
    ownMs === undefined ? transportTimeoutMs : Math.min(ownMs, transportTimeoutMs ?? ownMs);
  const raw = wantsRaw(request);
  const call = toCall(deps, request, timeoutMs);
  // A transport deadline already aborts `signal`; the request's own timeout needs a timer.
  const runSignal =
    ownMs !== undefined && ownMs === timeoutMs
      ? AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, Math.ceil(ownMs)))])
      : signal;
  const result = await deps.predictor.predict(call, runSignal).catch((error: unknown) => {
    throw inOipTerms(error);
  });
  const outputs = toOutputs(deps, request, result);
  return {
    model: result.model,
    version: String(result.version),
    id: request.id,
    outputs,
    raw: raw || outputs.some((o) => o.tensor.dtype === "float16"),
  };
}
