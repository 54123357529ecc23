import { type InferdError, invalidArgument } from "../../errors/inferd-error.js";
import type { ChatMessage, ChatTemplate } from "./chat-template.js";
import {
  type ResolvedSamplingParams,
  resolveSamplingParams,
  type SamplingParams,
} from "./sampling-params.js";
import type { StoppingOptions } from "./stopping-criteria.js";
import { checkTextFits, type TextTokenizer } from "./tokenizer.js";

/**
 * A generation request as the core takes it (the transport maps
 * `inferd.v1.GenerateRequest` or an OpenAI body onto it). At most one of `prompt`,
 * `messages` and `promptTokenIds`; none means the empty prompt (just BOS).
 */
export interface GenerationRequest extends SamplingParams {
  prompt?: string;
  messages?: readonly ChatMessage[];
  promptTokenIds?: readonly number[];
  /** Default: what fits the context window after the prompt. */
  maxTokens?: number;
  stop?: readonly string[];
  stopTokenIds?: readonly number[];
  ignoreEos?: boolean;
  /**
   * Who asks (the transport's choice: API key name, else peer address): the engine
   * shares its queue round-robin across clients and caps each one's sequences.
   * Absent or "": one anonymous client, not capped.
   */
  client?: string;
  /**
   * Called when the model gives up on an unread call (`--stream-stall-timeout-ms`),
   * with the resource_exhausted error its reader would get. The transport must end
   * the call itself (reset its stream): the reader is stuck on a write the client
   * never takes, so it would never pull that error, and the call's lease and stream
   * would stay held until the client left.
   */
  onStall?: (error: InferdError) => void;
}

/** A validated request, tokenized: plain data that crosses to the generation worker. */
export interface GenerationJob {
  readonly promptIds: readonly number[];
  readonly sampling: ResolvedSamplingParams;
  readonly stopping: StoppingOptions;
}

/** What resolving a request needs from the model. */
export interface RequestContext {
  readonly tokenizer: TextTokenizer;
  readonly chatTemplate: ChatTemplate;
  readonly contextWindow: number;
  readonly eosTokenIds: readonly number[];
}

/**
 * Validates and tokenizes a request. Text prompts get the model's special tokens
 * (BOS); rendered chat templates carry their own, so they are encoded without.
 * @throws InferdError invalid_argument (ranges in the message), failed_precondition
 *   (messages for a model without a chat template).
 */
export function resolveGenerationRequest(
  request: GenerationRequest,
  ctx: RequestContext,
): GenerationJob {
  const sampling = resolveSamplingParams(request);
  const promptIds = promptIdsOf(request, ctx);
  if (promptIds.length === 0) {
    throw invalidArgument(
      "the prompt is empty and the model adds no BOS token; give at least one token",
    );
  }
  const room = ctx.contextWindow - promptIds.length;
  if (room <= 0) {
    throw invalidArgument(
      `the prompt has ${promptIds.length} tokens but the context window is ${ctx.contextWindow}; shorten the prompt`,
    );
  }
  const maxTokens = request.maxTokens ?? room;
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > room) {
    throw invalidArgument(
      `max_tokens ${maxTokens} is out of range: it must be in [1, ${room}] (context window ${ctx.contextWindow} minus ${promptIds.length} prompt tokens)`,
    );
  }
  checkStopStrings(request.stop ?? []);
  const stopTokenIds = request.stopTokenIds ?? [];
  if (stopTokenIds.length > MAX_STOP_TOKEN_IDS) {
    throw invalidArgument(
      `stop_token_ids holds ${stopTokenIds.length} ids, more than the limit of ${MAX_STOP_TOKEN_IDS}`,
    );
  }
  checkIds(stopTokenIds, ctx.tokenizer.vocabSize, "stop_token_ids");
  checkIds(
    sampling.logitBias.map(([id]) => id),
    ctx.tokenizer.vocabSize,
    "logit_bias",
  );
  return {
    promptIds,
    sampling,
    stopping: {
      eosTokenIds: request.ignoreEos === true ? [] : ctx.eosTokenIds,
      stopTokenIds: [...(request.stopTokenIds ?? [])],
      stopStrings: [...(request.stop ?? [])],
      maxTokens,
      promptTokens: promptIds.length,
      contextWindow: ctx.contextWindow,
    },
  };
}

function promptIdsOf(request: GenerationRequest, ctx: RequestContext): number[] {
  const given = [
    request.prompt !== undefined && request.prompt !== "",
    request.messages !== undefined && request.messages.length > 0,
    request.promptTokenIds !== undefined && request.promptTokenIds.length > 0,
  ].filter(Boolean).length;
  if (given > 1) throw invalidArgument("give at most one of prompt, messages and prompt_token_ids");
  if (request.promptTokenIds !== undefined && request.promptTokenIds.length > 0) {
    checkIds(request.promptTokenIds, ctx.tokenizer.vocabSize, "prompt_token_ids");
    return [...request.promptTokenIds];
  }
  if (request.messages !== undefined && request.messages.length > 0) {
    // Rendering costs time on the event loop too: refuse content that cannot fit first,
    // and a list longer than the window (100k empty messages took 1.2 s to render).
    if (request.messages.length > ctx.contextWindow) {
      throw invalidArgument(
        `messages holds ${request.messages.length} messages, more than the context window has tokens (${ctx.contextWindow})`,
      );
    }
    const content = request.messages.reduce((n, m) => n + m.content.length, 0);
    checkTextFits(ctx.tokenizer, content, ctx.contextWindow, "the messages' content");
    const rendered = ctx.chatTemplate.render(request.messages);
    checkTextFits(ctx.tokenizer, rendered.length, ctx.contextWindow, "the rendered chat");
    return ctx.tokenizer.encode(rendered, false);
  }
  const prompt = request.prompt ?? "";
  checkTextFits(ctx.tokenizer, prompt.length, ctx.contextWindow, "the prompt");
  return ctx.tokenizer.encode(prompt, true);
}

/**
 * Every stop string is matched against the text after every token, so their number
 * and length bound the work one request adds to each decode step of its batch.
 */
export const MAX_STOP_STRINGS = 16;
/** Longest stop string, in characters (code points). */
export const MAX_STOP_LENGTH = 1024;
/** Most stop token ids per request. */
export const MAX_STOP_TOKEN_IDS = 1024;

function checkStopStrings(stop: readonly string[]): void {
  if (stop.length > MAX_STOP_STRINGS) {
    throw invalidArgument(
      `stop holds ${stop.length} strings, more than the limit of ${MAX_STOP_STRINGS}`,
    );
  }
  for (const s of stop) {
    if (s.length === 0)
      throw invalidArgument("stop holds an empty string; stop strings must not be empty");
    const length = [...s].length;
    if (length > MAX_STOP_LENGTH) {
      throw invalidArgument(
        `stop holds a string of ${length} characters, longer than the limit of ${MAX_STOP_LENGTH}`,
      );
    }
  }
}

function checkIds(ids: readonly number[], vocabSize: number, field: string): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw invalidArgument(`${field} holds ${id}, outside the vocabulary [0, ${vocabSize})`);
    }
  }
}
