import { randomUUID } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { OnnxGraph } from "../../onnx/onnx-graph.js";
import { createInProcessSession, type InProcessSession } from "../../runtime/in-process-session.js";
import type { SessionOptions } from "../../runtime/model-runtime.js";
import {
  type DecoderSignature,
  type KvCacheMode,
  readDecoderSignature,
} from "../engine/decoder-signature.js";
import {
  appendKvMatches,
  FLOAT16_TOLERANCE,
  FLOAT32_TOLERANCE,
} from "../kv-rewrite/append-kv-check.js";
import { checkedExternalDataFiles, rewriteForAppendKv } from "../kv-rewrite/append-kv-rewrite.js";
import type { GenerationConfig } from "../request/generation-config.js";
import {
  type LoadTimeEdits,
  type ModelForLoad,
  readModelForLoad,
  withFloat32Io,
} from "./load-time-edits.js";

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
 * model runs as exported. Both sessions exist only while the check runs. `edits`
 * (model.json settings such as MatMulNBits' accuracy_level) apply to both graphs.
 * A graph onnx-proto cannot read is served as ORT reads it, unedited, with the reason.
 * @throws what createInProcessSession and readDecoderSignature throw.
 */
export async function openDecoderSession(
  modelPath: string,
  options: SessionOptions,
  config: GenerationConfig,
  kvCache: KvCacheMode,
  edits: LoadTimeEdits = {},
): Promise<DecoderSession> {
  const needsBytes = kvCache === "append" || edits.matmulNBitsAccuracyLevel !== undefined;
  let unread = "";
  const read = needsBytes
    ? await readModelForLoad(modelPath, edits).catch((error: unknown) => {
        unread = `the graph could not be read for editing: ${messageOf(error)}`;
        return undefined;
      })
    : undefined;
  const { session: original, model } = await openOriginal(modelPath, options, read);
  let signature: DecoderSignature;
  try {
    signature = readDecoderSignature(original.inputs, original.outputs, config);
  } catch (error) {
    await original.release();
    throw error;
  }
  if (kvCache === "concat" || model === undefined) {
    return { session: original, signature, kvCacheNote: kvCache === "concat" ? "" : unread };
  }
  const rewritten = await tryRewrite(modelPath, options, model, original, signature);
  if (typeof rewritten === "string")
    return { session: original, signature, kvCacheNote: rewritten };
  await original.release();
  return { session: rewritten, signature: { ...signature, kvCache: "append" }, kvCacheNote: "" };
}

/**
 * The export's session, from the edited bytes when there are any. A float16 export
 * (float16 cache and logits) is reopened with float32 inputs and outputs cast inside
 * the graph (castFloat16Io), which is what the engine feeds and reads.
 */
async function openOriginal(
  modelPath: string,
  options: SessionOptions,
  read: ModelForLoad | undefined,
): Promise<{ session: InProcessSession; model: ModelForLoad | undefined }> {
  const session = read?.edited
    ? await openBytes(modelPath, options, read.bytes)
    : await createInProcessSession(modelPath, options);
  const specs = [...session.inputs, ...session.outputs];
  if (!specs.some((s) => s.dtype === "float16")) return { session, model: read };
  await session.release();
  const bytes = read?.bytes ?? (await readFile(modelPath));
  const model = { bytes, edited: true, float16Io: true };
  return { session: await openBytes(modelPath, options, withFloat32Io(bytes)), model };
}

/** The rewritten session, or why there is none. */
async function tryRewrite(
  modelPath: string,
  options: SessionOptions,
  model: ModelForLoad,
  original: InProcessSession,
  signature: DecoderSignature,
): Promise<InProcessSession | string> {
  let candidate: InProcessSession | undefined;
  let note = "the rewritten graph does not compute what the export computes";
  try {
    const rewritten = rewriteForAppendKv(model.bytes);
    if (rewritten === undefined)
      return "the graph does not grow its cache in the form the rewrite knows";
    const bytes = model.float16Io ? withFloat32Io(rewritten.bytes) : rewritten.bytes;
    candidate = await openBytes(modelPath, options, bytes, rewritten.externalDataFiles);
    const tolerance = model.float16Io ? FLOAT16_TOLERANCE : FLOAT32_TOLERANCE;
    if (await appendKvMatches(original, candidate, signature, tolerance)) return candidate;
  } catch (error) {
    // onnx-proto could not read the graph, or ORT load the rewrite: ORT read the export,
    // so it is served as it is.
    note = `the rewrite failed: ${messageOf(error)}`;
  }
  await candidate?.release();
  return note;
}

/**
 * A session for edited or rewritten bytes of the export at `modelPath`. With external
 * data the bytes must sit where the data files resolve, and ORT refuses data reached
 * through a link from elsewhere: they are written beside the export as a hidden file,
 * removed once ORT has read them (a read-only folder means the export is served as it is).
 */
async function openBytes(
  modelPath: string,
  options: SessionOptions,
  bytes: Uint8Array,
  externalDataFiles: readonly string[] = externalDataOf(bytes),
) {
  if (externalDataFiles.length === 0) return createInProcessSession(modelPath, options, bytes);
  const path = join(dirname(modelPath), `.inferd-edited-${process.pid}-${randomUUID()}.onnx`);
  try {
    await writeFile(path, bytes, { flag: "wx" });
    return await createInProcessSession(modelPath, options, path);
  } finally {
    await rm(path, { force: true });
  }
}

/** The external data files edited bytes refer to (checked as the rewrite checks them). */
function externalDataOf(bytes: Uint8Array): readonly string[] {
  return checkedExternalDataFiles(OnnxGraph.decode(bytes));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
