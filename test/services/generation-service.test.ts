import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FinishReason,
  type GenerateRequestSchema,
  type GenerateResponse,
} from "../../gen/inferd/v1/generation_pb.js";
import { createTinyLlamaWeights } from "../../scripts/fixtures/tiny-llama-weights.js";
import { referenceLogits } from "../fixtures/tiny-llama-reference.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import {
  type GenerationServer,
  startGenerationServer,
} from "../helpers/start-generation-server.js";

type Init = MessageInitShape<typeof GenerateRequestSchema>;

/** Greedy continuation by the independent float64 forward pass (full recompute per token). */
function referenceGreedy(
  prompt: readonly number[],
  count: number,
  bias: Readonly<Record<number, number>> = {},
): number[] {
  const weights = createTinyLlamaWeights(342);
  const ids = [...prompt];
  for (let i = 0; i < count; i++) {
    const last = (referenceLogits(weights, ids).at(-1) ?? []).map((x, id) => x + (bias[id] ?? 0));
    ids.push(last.indexOf(Math.max(...last)));
  }
  return ids.slice(prompt.length);
}

async function codeOf(promise: Promise<unknown>): Promise<[Code, string]> {
  try {
    await promise;
  } catch (error) {
    const e = ConnectError.from(error);
    return [e.code, e.rawMessage];
  }
  throw new Error("expected the call to fail");
}

describe("GenerationService over gRPC on the production server (fixture repo)", () => {
  let server: GenerationServer;
  beforeAll(async () => {
    server = await startGenerationServer(FIXTURE_REPO);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const collect = async (init: Init): Promise<GenerateResponse[]> => {
    const out: GenerateResponse[] = [];
    for await (const m of server.generation.generate(init)) out.push(m);
    return out;
  };

  it("streams greedy tokens equal to an independent forward pass, then finish, usage and timings", async () => {
    const prompt = [1, 300, 17, 42];
    const messages = await collect({
      model: "tiny_llama",
      promptTokenIds: prompt,
      temperature: 0,
      maxTokens: 6,
      ignoreEos: true,
      requestId: "gen-1",
    });
    const last = messages.at(-1) as GenerateResponse;
    const ids = messages.slice(0, -1).flatMap((m) => m.tokenIds);
    expect(ids).toEqual(referenceGreedy(prompt, 6));
    expect(last.finishReason).toBe(FinishReason.LENGTH);
    expect(last.usage).toMatchObject({ promptTokens: 4, completionTokens: 6 });
    expect(last.timings?.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(last.timings?.totalMs).toBeGreaterThanOrEqual(last.timings?.timeToFirstTokenMs ?? 0);
    expect(messages.every((m) => m.requestId === "gen-1" && m.version === 1)).toBe(true);
    const { text } = await server.generation.detokenize({ model: "tiny_llama", tokenIds: ids });
    expect(messages.map((m) => m.text).join("")).toBe(text);
  });

  it("adds logit_bias before the greedy choice: a banned token never comes, a forced one always", async () => {
    const prompt = [1, 300, 17, 42];
    const tokensOf = async (logitBias: Record<number, number>) =>
      (
        await collect({
          model: "tiny_llama",
          promptTokenIds: prompt,
          temperature: 0,
          maxTokens: 6,
          ignoreEos: true,
          logitBias,
        })
      ).flatMap((m) => m.tokenIds);
    const [first] = referenceGreedy(prompt, 1);
    const banned = { [first ?? 0]: -100 };
    const withoutFirst = await tokensOf(banned);
    expect(withoutFirst).toEqual(referenceGreedy(prompt, 6, banned));
    expect(withoutFirst).not.toContain(first);
    expect(await tokensOf({ 77: 100 })).toEqual([77, 77, 77, 77, 77, 77]);
    const [code, message] = await codeOf(tokensOf({ 9999: 1 }));
    expect(code).toBe(Code.InvalidArgument);
    expect(message).toMatch(/logit_bias holds 9999, outside the vocabulary \[0, \d+\)/);
  });

  it("tokenizes and detokenizes with the model's tokenizer", async () => {
    const tokens = await server.generation.tokenize({ model: "tiny_llama", text: "hello world" });
    expect(tokens.tokenIds[0]).toBe(1);
    expect(tokens.tokens[0]).toBe("<s>");
    expect(tokens.tokens).toHaveLength(tokens.tokenIds.length);
    const bare = await server.generation.tokenize({
      model: "tiny_llama",
      text: "hello world",
      addSpecialTokens: false,
    });
    expect(bare.tokenIds).toEqual(tokens.tokenIds.slice(1));
    const back = await server.generation.detokenize({
      model: "tiny_llama",
      tokenIds: tokens.tokenIds,
    });
    expect(back.text).toBe("hello world");
    expect([tokens.version, back.version]).toEqual([1, 1]);
  });

  it("tokenizes with the version asked for, and answers an unknown version with NotFound", async () => {
    const pinned = await server.generation.tokenize({
      model: "tiny_llama",
      version: 1,
      text: "hi",
    });
    expect(pinned.version).toBe(1);
    const back = await server.generation.detokenize({
      model: "tiny_llama",
      version: 1,
      tokenIds: pinned.tokenIds,
    });
    expect([back.text, back.version]).toEqual(["hi", 1]);
    const [code, message] = await codeOf(
      server.generation.tokenize({ model: "tiny_llama", version: 7, text: "hi" }),
    );
    expect(code).toBe(Code.NotFound);
    expect(message).toContain("7");
    expect(
      (
        await codeOf(
          server.generation.detokenize({ model: "tiny_llama", version: 7, tokenIds: [1] }),
        )
      )[0],
    ).toBe(Code.NotFound);
  });

  it("echoes float and int64 fields as the client sent them, not widened or rounded", async () => {
    const base = { model: "tiny_llama", prompt: "hi" } satisfies Init;
    expect(await codeOf(collect({ ...base, topP: -0.1 }))).toEqual([
      Code.InvalidArgument,
      "top_p -0.1 is out of range: top_p must be in (0, 1] (1 disables)",
    ]);
    expect((await codeOf(collect({ ...base, minP: 1.1 })))[1]).toMatch(/^min_p 1\.1 is out/);
    expect((await codeOf(collect({ ...base, presencePenalty: 2.3 })))[1]).toMatch(
      /^presence_penalty 2\.3 is out/,
    );
    expect((await codeOf(collect({ ...base, logitBias: { 5: 100.7 } })))[1]).toMatch(
      /^logit_bias\[5\] 100\.7 is out/,
    );
    expect(await codeOf(collect({ ...base, seed: 2n ** 60n }))).toEqual([
      Code.InvalidArgument,
      "seed 1152921504606846976 is out of range: seed must be an integer of magnitude below 2^53",
    ]);
    expect((await codeOf(collect({ ...base, seed: -(2n ** 53n) - 1n })))[1]).toMatch(
      /^seed -9007199254740993 is out/,
    );
  });

  it("maps request errors to NotFound, FailedPrecondition and InvalidArgument with the limit", async () => {
    const base = { model: "tiny_llama", prompt: "hi" } satisfies Init;
    expect(await codeOf(collect({ ...base, model: "nope" }))).toEqual([
      Code.NotFound,
      expect.stringContaining("nope"),
    ]);
    expect((await codeOf(collect({ ...base, model: "iris" })))[0]).toBe(Code.FailedPrecondition);
    expect(await codeOf(collect({ ...base, temperature: -1 }))).toEqual([
      Code.InvalidArgument,
      expect.stringContaining("must be >= 0"),
    ]);
    expect(await codeOf(collect({ ...base, topP: 1.5 }))).toEqual([
      Code.InvalidArgument,
      expect.stringContaining("(0, 1]"),
    ]);
    expect(await codeOf(collect({ ...base, stop: Array.from({ length: 17 }, String) }))).toEqual([
      Code.InvalidArgument,
      "stop holds 17 strings, more than the limit of 16",
    ]);
    expect(await codeOf(collect({ ...base, stop: ["x".repeat(2000)] }))).toEqual([
      Code.InvalidArgument,
      "stop holds a string of 2000 characters, longer than the limit of 1024",
    ]);
    expect((await codeOf(collect({ ...base, stop: ["a", ""] })))[1]).toContain("must not be empty");
    expect(
      (await codeOf(collect({ ...base, stopTokenIds: new Array<number>(1025).fill(2) })))[1],
    ).toBe("stop_token_ids holds 1025 ids, more than the limit of 1024");
    expect(await codeOf(collect({ ...base, promptTokenIds: [1, 5] }))).toEqual([
      Code.InvalidArgument,
      "give at most one of prompt, messages and prompt_token_ids",
    ]);
    // Text that no 256 tokens can cover is refused before tokenizing (the longest
    // tiny_llama piece, "<0x00>", has 6 characters: at most 256 x 6 x 2 = 3072).
    expect(await codeOf(collect({ ...base, prompt: "a".repeat(3073) }))).toEqual([
      Code.InvalidArgument,
      "the prompt has 3073 characters, more than 256 tokens can hold (at most 3072 characters with this tokenizer)",
    ]);
    expect((await codeOf(collect({ ...base, prompt: "a".repeat(3072) })))[1]).toContain(
      "the context window is 256",
    );
    expect(
      await codeOf(
        collect({ model: "tiny_llama", messages: [{ role: "user", content: "b".repeat(4000) }] }),
      ),
    ).toEqual([
      Code.InvalidArgument,
      "the messages' content has 4000 characters, more than 256 tokens can hold (at most 3072 characters with this tokenizer)",
    ]);
    const empty = Array.from({ length: 257 }, () => ({ role: "user", content: "" }));
    expect(await codeOf(collect({ model: "tiny_llama", messages: empty }))).toEqual([
      Code.InvalidArgument,
      "messages holds 257 messages, more than the context window has tokens (256)",
    ]);
    expect(
      await codeOf(server.generation.tokenize({ model: "tiny_llama", text: "a".repeat(5000) })),
    ).toEqual([
      Code.InvalidArgument,
      "the text has 5000 characters, more than 256 tokens can hold (at most 3072 characters with this tokenizer)",
    ]);
    expect(
      await codeOf(
        server.generation.detokenize({
          model: "tiny_llama",
          tokenIds: new Array<number>(257).fill(5),
        }),
      ),
    ).toEqual([Code.InvalidArgument, "257 token ids are more than the context window of 256"]);
    const [code, message] = await codeOf(collect({ ...base, maxTokens: 100_000 }));
    expect(code).toBe(Code.InvalidArgument);
    expect(message).toContain("context window 256");
    const long: Init = { model: "tiny_llama", promptTokenIds: new Array<number>(300).fill(5) };
    expect(await codeOf(collect(long))).toEqual([
      Code.InvalidArgument,
      expect.stringContaining("the context window is 256"),
    ]);
    expect((await codeOf(server.generation.tokenize({ model: "iris", text: "x" })))[0]).toBe(
      Code.FailedPrecondition,
    );
    expect(
      (await codeOf(server.generation.detokenize({ model: "tiny_llama", tokenIds: [9999] })))[0],
    ).toBe(Code.InvalidArgument);
  });
});
