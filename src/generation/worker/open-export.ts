import type { InProcessSession } from "../../runtime/in-process-session.js";
import type { SessionOptions } from "../../runtime/model-runtime.js";
import type { KvCacheMode } from "../engine/decoder-signature.js";
import { type GraphTools, messageOf, openOriginal } from "./graph-tools.js";
import type { LoadTimeEdits, ModelForLoad } from "./load-time-edits.js";
import { releaseBytes } from "./release-bytes.js";
import { type StagedRewrite, stageRewrite } from "./staged-rewrite.js";

/** A rewritten graph as it would be served, before any session has it. */
export interface PreparedRewrite {
  /**
   * The rewritten model in memory, when it could not be staged; taken (set undefined)
   * by checkRewrite, which drops it once it can.
   */
  bytes: Uint8Array | undefined;
  /** The rewritten model written beside the export (stageRewrite), its bytes released. */
  readonly staged: StagedRewrite | undefined;
  readonly externalDataFiles: readonly string[];
  readonly float16Io: boolean;
}

/** The export's session, opened first on a load that has no cached rewrite. */
export interface OpenedExport {
  readonly session: InProcessSession;
  /** The rewrite to check, or why there is none ("" when none was asked for). */
  readonly rewrite: PreparedRewrite | string;
  /** `session` has its activation-rounding MatMulNBits at accuracy_level 0 (see checkRewrite). */
  readonly exact: boolean;
}

/**
 * Reads the export at `modelPath` with `edits` applied, prepares its append-KV rewrite
 * when `kvCache` is "append", and opens the export's session: at accuracy_level 0
 * where MatMulNBits round activations and a rewrite is to be checked (the bytes
 * patched in place for the session's creation, then put back). The bytes read are not
 * kept: a later reopen of the export reads the file again. A graph onnx-proto cannot
 * read is opened as ORT reads it, unedited, with the reason.
 * @throws what createInProcessSession throws.
 */
export async function openExport(
  tools: GraphTools,
  modelPath: string,
  options: SessionOptions,
  kvCache: KvCacheMode,
  edits: LoadTimeEdits,
): Promise<OpenedExport> {
  const append = kvCache === "append";
  let read: ModelForLoad | undefined;
  let rewrite: PreparedRewrite | string = "";
  if (append || edits.matmulNBitsAccuracyLevel !== undefined) {
    read = await tools.readModelForLoad(modelPath, edits).catch((error: unknown) => {
      rewrite = append ? `the graph could not be read for editing: ${messageOf(error)}` : "";
      return undefined;
    });
  }
  if (append && read !== undefined) rewrite = await prepareRewrite(tools, modelPath, read);
  if (read === undefined || typeof rewrite === "string") {
    const { session } = await openOriginal(tools, modelPath, options, read);
    return { session, rewrite, exact: false };
  }
  const { bytes, edited } = read;
  const { externalDataFiles } = rewrite;
  const prepared = rewrite;
  const opened = await tools.withExactMatMulNBits(bytes, async (exact) => {
    const model = { bytes, edited: edited || exact };
    const { session } = await openOriginal(tools, modelPath, options, model, externalDataFiles);
    return { session, rewrite: prepared, exact };
  });
  await releaseBytes(bytes); // no session needs them again: a reopen of the export reads the file
  return opened;
}

/**
 * The rewritten bytes (float16 inputs and outputs cast as load-time-edits.ts's
 * withFloat32Io does), staged beside the export where the folder can be written, or
 * why there are none.
 */
async function prepareRewrite(
  tools: GraphTools,
  modelPath: string,
  model: ModelForLoad,
): Promise<PreparedRewrite | string> {
  let bytes: Uint8Array;
  let rewritten: ReturnType<GraphTools["rewriteForAppendKv"]>;
  try {
    rewritten = tools.rewriteForAppendKv(model.bytes);
    if (rewritten === undefined)
      return "the graph does not grow its cache in the form the rewrite knows";
    bytes = tools.withFloat32Io(rewritten.bytes);
  } catch (error) {
    // onnx-proto could not read the graph: ORT read the export, so it is served as it is.
    return `the rewrite failed: ${messageOf(error)}`;
  }
  const { externalDataFiles } = rewritten;
  const float16Io = bytes !== rewritten.bytes;
  if (float16Io) await releaseBytes(rewritten.bytes); // the uncast graph: nothing opens it
  const staged = await stageRewrite(modelPath, bytes);
  return { bytes: staged ? undefined : bytes, staged, externalDataFiles, float16Io };
}
