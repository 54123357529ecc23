import { readFile } from "node:fs/promises";
import { createInProcessSession, type InProcessSession } from "../runtime/in-process-session.js";
import type { SessionOptions } from "../runtime/model-runtime.js";
import { appendKvMatches } from "./append-kv-check.js";
import { rewriteForAppendKv } from "./append-kv-rewrite.js";
import {
  type DecoderSignature,
  type KvCacheMode,
  readDecoderSignature,
} from "./decoder-signature.js";
import type { GenerationConfig } from "./generation-config.js";

/** A decoder's session and how its KV cache is to be grown. */
export interface DecoderSession {
  readonly session: InProcessSession;
  readonly signature: DecoderSignature;
}

/**
 * Opens the decoder at `modelPath`. With `kvCache: "append"` (model.json `kv_cache`,
 * the default) the graph is rewritten so that steps append to the cache instead of
 * copying it (append-kv-rewrite.ts), and the rewrite is served only if it computes
 * what the export computes (append-kv-check.ts); otherwise, or with "concat", the
 * model runs as exported. Both sessions exist only while the check runs.
 * @throws what createInProcessSession and readDecoderSignature throw.
 */
export async function openDecoderSession(
  modelPath: string,
  options: SessionOptions,
  config: GenerationConfig,
  kvCache: KvCacheMode,
): Promise<DecoderSession> {
  const original = await createInProcessSession(modelPath, options);
  let signature: DecoderSignature;
  try {
    signature = readDecoderSignature(original.inputs, original.outputs, config);
  } catch (error) {
    await original.release();
    throw error;
  }
  if (kvCache === "concat") return { session: original, signature };
  const rewritten = await tryRewrite(modelPath, options, original, signature);
  if (rewritten === undefined) return { session: original, signature };
  await original.release();
  return { session: rewritten, signature: { ...signature, kvCache: "append" } };
}

async function tryRewrite(
  modelPath: string,
  options: SessionOptions,
  original: InProcessSession,
  signature: DecoderSignature,
): Promise<InProcessSession | undefined> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = rewriteForAppendKv(await readFile(modelPath));
  } catch {
    // A graph onnx-proto cannot read, or cannot rewrite: ORT read it, so serve it as is.
    return undefined;
  }
  if (bytes === undefined) return undefined;
  let candidate: InProcessSession | undefined;
  try {
    candidate = await createInProcessSession(modelPath, options, bytes);
    if (await appendKvMatches(original, candidate, signature)) return candidate;
  } catch {
    // Falls through: the export is served as it is.
  }
  await candidate?.release();
  return undefined;
}
