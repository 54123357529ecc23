import { randomUUID } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInProcessSession, type InProcessSession } from "../../runtime/in-process-session.js";
import type { SessionOptions } from "../../runtime/model-runtime.js";
import {
  type DecoderSignature,
  type KvCacheMode,
  readDecoderSignature,
} from "../engine/decoder-signature.js";
import { appendKvMatches } from "../kv-rewrite/append-kv-check.js";
import { type AppendKvModel, rewriteForAppendKv } from "../kv-rewrite/append-kv-rewrite.js";
import type { GenerationConfig } from "../request/generation-config.js";

/** A decoder's session and how its KV cache is to be grown. */
export interface DecoderSession {
  readonly session: InProcessSession;
  readonly signature: DecoderSignature;
  /** Why the export is served as it is although "append" was asked for; "" otherwise. */
  readonly kvCacheNote: string;
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
  if (kvCache === "concat") return { session: original, signature, kvCacheNote: "" };
  const rewritten = await tryRewrite(modelPath, options, original, signature);
  if (typeof rewritten === "string")
    return { session: original, signature, kvCacheNote: rewritten };
  await original.release();
  return { session: rewritten, signature: { ...signature, kvCache: "append" }, kvCacheNote: "" };
}

/** The rewritten session, or why there is none. */
async function tryRewrite(
  modelPath: string,
  options: SessionOptions,
  original: InProcessSession,
  signature: DecoderSignature,
): Promise<InProcessSession | string> {
  let candidate: InProcessSession | undefined;
  let note = "the rewritten graph does not compute what the export computes";
  try {
    const rewritten = rewriteForAppendKv(await readFile(modelPath));
    if (rewritten === undefined)
      return "the graph does not grow its cache in the form the rewrite knows";
    candidate = await openRewritten(modelPath, options, rewritten);
    if (await appendKvMatches(original, candidate, signature)) return candidate;
  } catch (error) {
    // onnx-proto could not read the graph, or ORT load the rewrite: ORT read the export,
    // so it is served as it is.
    note = `the rewrite failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  await candidate?.release();
  return note;
}

/**
 * A session for rewritten bytes. With external data the bytes must sit where the
 * data files resolve, and ORT refuses data reached through a link from elsewhere:
 * they are written beside the export as a hidden file, removed once ORT has read
 * them (a read-only folder means the export is served as it is).
 */
async function openRewritten(
  modelPath: string,
  options: SessionOptions,
  { bytes, externalDataFiles }: AppendKvModel,
) {
  if (externalDataFiles.length === 0) return createInProcessSession(modelPath, options, bytes);
  const path = join(dirname(modelPath), `.inferd-append-kv-${process.pid}-${randomUUID()}.onnx`);
  try {
    await writeFile(path, bytes, { flag: "wx" });
    return await createInProcessSession(modelPath, options, path);
  } finally {
    await rm(path, { force: true });
  }
}
