import { randomUUID } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInProcessSession, type InProcessSession } from "../../runtime/in-process-session.js";
import type { SessionOptions } from "../../runtime/model-runtime.js";
import type { ModelForLoad } from "./load-time-edits.js";

/**
 * What decodes and edits the graph, loaded by the loads that do (onnx-proto's schema: about
 * 65 ms of CPU), not by one that finds its rewrite cached: that one is spawn-to-ready.
 */
export async function loadGraphTools() {
  const [edits, rewrite, graph] = await Promise.all([
    import("./load-time-edits.js"),
    import("../kv-rewrite/append-kv-rewrite.js"),
    import("../../onnx/onnx-graph.js"),
  ]);
  return {
    readModelForLoad: edits.readModelForLoad,
    withFloat32Io: edits.withFloat32Io,
    withExactMatMulNBits: edits.withExactMatMulNBits,
    rewriteForAppendKv: rewrite.rewriteForAppendKv,
    /** The external data files edited bytes refer to (checked as the rewrite checks them). */
    externalDataOf: (bytes: Uint8Array) =>
      rewrite.checkedExternalDataFiles(graph.OnnxGraph.decode(bytes)),
  };
}

/** The graph editing functions of {@link loadGraphTools}. */
export type GraphTools = Awaited<ReturnType<typeof loadGraphTools>>;

/**
 * The export's session, from the edited bytes when there are any. A float16 export
 * (float16 cache and logits) is reopened with float32 inputs and outputs cast inside
 * the graph (castFloat16Io), which is what the engine feeds and reads.
 * `externalDataFiles`, when the caller knows them, spares decoding `read` to find them.
 */
export async function openOriginal(
  tools: GraphTools,
  modelPath: string,
  options: SessionOptions,
  read: ModelForLoad | undefined,
  externalDataFiles?: readonly string[],
): Promise<{ session: InProcessSession; model: ModelForLoad | undefined }> {
  const data = (bytes: Uint8Array) => externalDataFiles ?? tools.externalDataOf(bytes);
  const session = read?.edited
    ? await openBytes(modelPath, options, read.bytes, data(read.bytes))
    : await createInProcessSession(modelPath, options);
  const specs = [...session.inputs, ...session.outputs];
  if (!specs.some((s) => s.dtype === "float16")) return { session, model: read };
  await session.release();
  const bytes = read?.bytes ?? (await readFile(modelPath));
  const model = { bytes, edited: true, float16Io: true };
  const cast = tools.withFloat32Io(bytes);
  return { session: await openBytes(modelPath, options, cast, data(cast)), model };
}

/**
 * A session for edited or rewritten bytes of the export at `modelPath`. With external
 * data the bytes must sit where the data files resolve, and ORT refuses data reached
 * through a link from elsewhere: they are written beside the export as a hidden file,
 * removed once ORT has read them (a read-only folder means the export is served as it is).
 */
export async function openBytes(
  modelPath: string,
  options: SessionOptions,
  bytes: Uint8Array,
  externalDataFiles: readonly string[],
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

/** An error's message, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
