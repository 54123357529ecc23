import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  FinishReason,
  type GenerateRequest,
  type GenerateResponse,
  GenerateResponseSchema,
  type GenerationService,
} from "../../gen/inferd/v1/generation_pb.js";
import { callerKeyName } from "../auth/caller-key.js";
import { releaseOnAbort } from "../connect-adapter/release-on-abort.js";
import { stallCutOf } from "../connect-adapter/stall-cut.js";
import { type GenerationChunk, isGenerationFinish } from "../generation/generation-chunk.js";
import type { FinishReason as DomainFinishReason } from "../generation/request/stopping-criteria.js";
import type { GenerateCall, TextGenerator } from "../generation/text-generator.js";
import { clientIdentity } from "../observed-call/client-identity.js";
import { peerAddressKey } from "../observed-call/peer-context.js";
import { shortestFloat32 } from "../text/shortest-float32.js";
import { toDomainSignal } from "./domain-signal.js";

/** Options of `createGenerationService`. */
export interface GenerationServiceOptions {
  readonly generator: TextGenerator;
}

const FINISH_REASONS: Readonly<Record<DomainFinishReason, FinishReason>> = {
  stop: FinishReason.STOP,
  length: FinishReason.LENGTH,
  eos: FinishReason.EOS,
  cancelled: FinishReason.CANCELLED,
};

/** Maps the wire request onto the core's call; unset optional fields stay absent (defaults). */
export function toGenerateCall(request: GenerateRequest, requestId: string): GenerateCall {
  const r = request;
  return {
    model: r.model,
    requestId,
    ...(r.version !== 0 && { version: r.version }),
    ...(r.prompt !== "" && { prompt: r.prompt }),
    ...(r.messages.length > 0 && {
      messages: r.messages.map((m) => ({ role: m.role, content: m.content })),
    }),
    ...(r.promptTokenIds.length > 0 && { promptTokenIds: r.promptTokenIds }),
    ...(r.maxTokens !== undefined && { maxTokens: r.maxTokens }),
    // float fields: the decimal the client wrote (0.1), not the widened float32.
    ...(r.temperature !== undefined && { temperature: shortestFloat32(r.temperature) }),
    ...(r.topK !== undefined && { topK: r.topK }),
    ...(r.topP !== undefined && { topP: shortestFloat32(r.topP) }),
    ...(r.minP !== undefined && { minP: shortestFloat32(r.minP) }),
    ...(r.repetitionPenalty !== undefined && {
      repetitionPenalty: shortestFloat32(r.repetitionPenalty),
    }),
    ...(r.presencePenalty !== undefined && {
      presencePenalty: shortestFloat32(r.presencePenalty),
    }),
    ...(r.frequencyPenalty !== undefined && {
      frequencyPenalty: shortestFloat32(r.frequencyPenalty),
    }),
    // A bigint: beyond 2^53 sampling params refuse it, echoing it unrounded.
    ...(r.seed !== undefined && { seed: r.seed }),
    ...(r.stop.length > 0 && { stop: r.stop }),
    ...(r.stopTokenIds.length > 0 && { stopTokenIds: r.stopTokenIds }),
    ...(r.ignoreEos && { ignoreEos: true }),
    ...(r.logprobs > 0 && { logprobs: r.logprobs }),
    ...(Object.keys(r.logitBias).length > 0 && { logitBias: shortestValues(r.logitBias) }),
  };
}

function shortestValues(bias: Readonly<Record<number, number>>): Record<number, number> {
  return Object.fromEntries(Object.entries(bias).map(([id, v]) => [id, shortestFloat32(v)]));
}

function toResponse(chunk: GenerationChunk, requestId: string, version: number): GenerateResponse {
  if (!isGenerationFinish(chunk)) {
    return create(GenerateResponseSchema, {
      requestId,
      version,
      text: chunk.text,
      tokenIds: [...chunk.tokenIds],
      logprobs: (chunk.logprobs ?? []).map((lp) => ({
        chosen: { ...lp.chosen },
        top: lp.top.map((t) => ({ ...t })),
      })),
    });
  }
  return create(GenerateResponseSchema, {
    requestId,
    version,
    finishReason: FINISH_REASONS[chunk.finishReason],
    usage: { ...chunk.usage },
    timings: { ...chunk.timings },
  });
}

/**
 * Connect handlers for `inferd.v1.GenerationService`, thin over the
 * {@link TextGenerator}: Generate leases the version for the whole stream, sends
 * one message per engine delta and a last one with finish reason, usage and
 * timings. A client that cancels aborts the engine's signal, which frees the
 * sequence's slot at the next decode step. Handlers throw domain errors; mount them
 * with `withErrorMapping` (as `createInferdRoutes` does).
 */
export function createGenerationService(
  options: GenerationServiceOptions,
): ServiceImpl<typeof GenerationService> {
  const { generator } = options;
  return {
    async *generate(request, context) {
      const requestId = request.requestId || randomUUID();
      const signal = toDomainSignal(context.signal);
      const client = clientIdentity({
        keyName: context.values.get(callerKeyName),
        socketAddress: context.values.get(peerAddressKey),
      });
      // Unread past --stream-stall-timeout-ms: connect-node is stuck writing to this
      // stream, so the stream itself is reset (resource_exhausted), which aborts the call.
      const onStall = stallCutOf(context.values);
      const started = await generator.start(
        { ...toGenerateCall(request, requestId), client, ...(onStall && { onStall }) },
        signal,
      );
      // A client that goes away leaves this generator suspended at a `yield` that Connect
      // never resumes nor return()s, so the abort itself hands the chunks (and the lease) back.
      const giveBack = releaseOnAbort(
        context.signal,
        () => void started.chunks.return?.().catch(() => {}),
      );
      let finished = false;
      try {
        for await (const chunk of started.chunks) {
          finished = isGenerationFinish(chunk) && chunk.finishReason !== "cancelled";
          yield toResponse(chunk, requestId, started.version);
        }
        // The engine ends an aborted sequence "cancelled" (usage included); the call itself
        // fails as the domain signal tells it: DeadlineExceeded, or Canceled however the
        // client left (connect-node reads an RST_STREAM INTERNAL_ERROR as Internal). A
        // stream that finished before the abort stays a success.
        if (signal.aborted && !finished) throw signal.reason;
      } finally {
        giveBack();
      }
    },
    tokenize(request) {
      return generator.withModel(request.model, request.version, (model, version) => {
        const ids = model.tokenize(request.text, request.addSpecialTokens ?? true);
        return { tokenIds: ids, tokens: ids.map((id) => model.idToToken(id)), version };
      });
    },
    detokenize(request) {
      return generator.withModel(request.model, request.version, (model, version) => ({
        text: model.detokenize(request.tokenIds, request.skipSpecialTokens ?? true),
        version,
      }));
    },
  };
}
