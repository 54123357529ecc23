import {
  type GenerationChunk,
  type GenerationFinish,
  isGenerationFinish,
} from "../../src/generation/generation-chunk.js";

/** A generation stream read to its end. */
export interface CollectedGeneration {
  ids: number[];
  text: string;
  finish: GenerationFinish;
}

/**
 * Reads `stream` to its finish chunk, calling `onTokens` with the running token
 * count after each delta. Throws when the stream ends without a finish chunk.
 */
export async function collectGeneration(
  stream: AsyncIterable<GenerationChunk>,
  onTokens?: (count: number) => void,
): Promise<CollectedGeneration> {
  const ids: number[] = [];
  let text = "";
  for await (const chunk of stream) {
    if (isGenerationFinish(chunk)) return { ids, text, finish: chunk };
    ids.push(...chunk.tokenIds);
    text += chunk.text;
    onTokens?.(ids.length);
  }
  throw new Error("the stream ended without a finish chunk");
}
