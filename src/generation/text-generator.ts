import { abortReasonToError, failedPrecondition } from "../errors/inferd-error.js";
import type { Lease, ModelRegistry, Servable } from "../registry/model-registry.js";
import {
  type GenerationChunk,
  type GenerationFinish,
  generationTimings,
  isGenerationFinish,
} from "./generation-chunk.js";
import type { GenerativeModel } from "./generative-model.js";
import type { GenerationRequest } from "./request/generation-request.js";
import type { FinishReason } from "./request/stopping-criteria.js";

/** A generation request addressed to a model (and optionally a pinned version). */
export interface GenerateCall extends GenerationRequest {
  readonly model: string;
  /** Pinned version; absent lets the model's routing policy choose. */
  readonly version?: number;
  /** For the end-of-stream report (logs); the transport fills it in. */
  readonly requestId?: string;
  /**
   * Who asked, for accounting in the end-of-stream report (the API key's name when
   * keys are on); opaque here. The transport fills it in.
   */
  readonly client?: string;
}

/** A generation that passed validation: the version serving it and its chunks. */
export interface StartedGeneration {
  readonly model: string;
  readonly version: number;
  /**
   * Deltas, then one {@link GenerationFinish}. The version stays leased until the
   * iterator ends, throws or is `return()`ed: consume it or return it.
   */
  readonly chunks: AsyncIterableIterator<GenerationChunk>;
}

/** How a generation stream ended, reported once per started stream. */
export interface GenerationEnd {
  readonly model: string;
  readonly version: number;
  readonly requestId: string | undefined;
  /** The call's {@link GenerateCall.client}. */
  readonly client?: string;
  /** The engine's reason; "cancelled" also when the consumer left before the end. */
  readonly finishReason: FinishReason | "error";
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly timings?: GenerationFinish["timings"];
}

/** Options of `createTextGenerator`: the registry to lease generative versions from. */
export interface TextGeneratorOptions {
  readonly registry: ModelRegistry;
  /** Called once when a started stream ends, however it ends (the access log). */
  readonly onEnd?: (end: GenerationEnd) => void;
}

/** The Generate path minus the wire, shared by the gRPC service and the OpenAI routes. */
export interface TextGenerator {
  /**
   * Leases a version, validates the request and waits for its first chunk, so that
   * every request error (not_found, failed_precondition, invalid_argument,
   * resource_exhausted) is thrown here, before the caller commits to a response.
   */
  start(call: GenerateCall, signal: AbortSignal): Promise<StartedGeneration>;
  /**
   * Leases a generative version (undefined: the routing policy chooses) for a short
   * synchronous use (tokenize, detokenize); `use` also gets the version it runs on.
   */
  withModel<T>(
    model: string,
    version: number | undefined,
    use: (m: GenerativeModel, version: number) => T,
  ): T;
}

/** Guard: a servable that is a loaded generation engine. */
export function isGenerativeModel(servable: Servable): servable is GenerativeModel {
  return servable.kind === "generate" && "generate" in servable;
}

/** Leases a generative version. @throws not_found, unavailable, failed_precondition (a predict model). */
export function acquireGenerative(
  registry: ModelRegistry,
  model: string,
  version?: number,
): Lease<GenerativeModel> {
  const lease = registry.acquire(model, version);
  if (isGenerativeModel(lease.servable)) return lease as Lease<GenerativeModel>;
  lease.release();
  throw failedPrecondition(
    `model "${model}" is not a generative model (kind "${lease.servable.kind}"); use Predict`,
  );
}

/** Creates the {@link TextGenerator} over the registry. */
export function createTextGenerator(options: TextGeneratorOptions): TextGenerator {
  return {
    async start(call, signal) {
      if (signal.aborted) throw abortReasonToError(signal);
      const startedAt = performance.now();
      const lease = acquireGenerative(options.registry, call.model, call.version || undefined);
      let source: AsyncIterator<GenerationChunk>;
      let first: IteratorResult<GenerationChunk>;
      try {
        source = lease.servable.generate(call, signal)[Symbol.asyncIterator]();
        first = await source.next();
      } catch (error) {
        lease.release();
        throw error;
      }
      const chunks = leasedChunks(lease, source, first, startedAt, (end) =>
        options.onEnd?.({
          ...end,
          requestId: call.requestId,
          ...(call.client !== undefined && { client: call.client }),
        }),
      );
      return { model: lease.model, version: lease.version, chunks };
    },
    withModel(model, version, use) {
      const lease = acquireGenerative(options.registry, model, version || undefined);
      try {
        return use(lease.servable, lease.version);
      } finally {
        lease.release();
      }
    },
  };
}

type EndReport = Omit<GenerationEnd, "requestId" | "client">;

/**
 * The engine's stream with the already-pulled first chunk put back, releasing the
 * lease (and reporting the end) exactly once: at the finish chunk, on error, or on
 * `return()`, which also works before the first `next()` (unlike a generator's).
 * A consumer that leaves early never sees the finish chunk, so the report is then
 * built from the deltas it did see (prompt length, tokens, their times).
 */
function leasedChunks(
  lease: Lease<GenerativeModel>,
  source: AsyncIterator<GenerationChunk>,
  first: IteratorResult<GenerationChunk>,
  startedAt: number,
  report: (end: EndReport) => void,
): AsyncIterableIterator<GenerationChunk> {
  let pending: IteratorResult<GenerationChunk> | undefined = first;
  let completion = 0;
  let promptTokens = 0;
  let firstTokenAt: number | undefined;
  let finish: GenerationFinish | undefined;
  let released = false;
  const release = (failed: boolean) => {
    if (released) return;
    released = true;
    lease.release();
    const timings = generationTimings(startedAt, firstTokenAt, performance.now(), completion);
    report({
      model: lease.model,
      version: lease.version,
      finishReason: finish?.finishReason ?? (failed ? "error" : "cancelled"),
      promptTokens: finish?.usage.promptTokens ?? promptTokens,
      completionTokens: finish?.usage.completionTokens ?? completion,
      timings: finish?.timings ?? timings,
    });
  };
  const see = (step: IteratorResult<GenerationChunk>) => {
    if (step.done) release(false);
    else if (!isGenerationFinish(step.value)) {
      promptTokens = step.value.promptTokens ?? promptTokens;
      if (step.value.tokenIds.length > 0) firstTokenAt ??= performance.now();
      completion += step.value.tokenIds.length;
    } else {
      finish = step.value;
      release(false);
      source.return?.().catch(() => {});
    }
    return step;
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (pending !== undefined) {
        const step = pending;
        pending = undefined;
        return see(step);
      }
      if (released) return { done: true, value: undefined };
      try {
        return see(await source.next());
      } catch (error) {
        release(true);
        throw error;
      }
    },
    async return() {
      pending = undefined;
      release(false);
      await source.return?.();
      return { done: true, value: undefined };
    },
  };
}
