import { readFile, rm } from "node:fs/promises";
import { findMatMulNBitsLevels, roundingLevelOffsets } from "../../onnx/matmul-nbits-levels.js";
import { readOnnxWeightBytes } from "../../onnx/read-onnx-weight-bytes.js";
import { createInProcessSession, type InProcessSession } from "../../runtime/in-process-session.js";
import { hasMemoryRoom } from "../../runtime/memory-limit.js";
import type { SessionOptions } from "../../runtime/model-runtime.js";
import type { KvCacheMode } from "../engine/decoder-signature.js";
import type { GenerationConfig } from "../request/generation-config.js";
import { type RecordedReference, startExportReference } from "./export-reference.js";
import { type GraphTools, messageOf, openOriginal } from "./graph-tools.js";
import type { LoadTimeEdits, ModelForLoad } from "./load-time-edits.js";
import { releaseBytes } from "./release-bytes.js";
import { type StagedGraph, stageGraph } from "./staged-graph.js";

/** A rewritten graph as it would be served, before any session has it. */
export interface PreparedRewrite {
  /**
   * The rewritten model in memory, when it could not be staged; taken (set undefined)
   * by checkRewrite, which drops it once it can.
   */
  bytes: Uint8Array | undefined;
  /** The rewritten model written beside the export (stageGraph), its bytes released. */
  readonly staged: StagedGraph | undefined;
  readonly externalDataFiles: readonly string[];
  readonly float16Io: boolean;
}

/**
 * The export on a load that has no cached rewrite: its session opened here first, or
 * (see {@link ExportAlongside}) its reference being recorded elsewhere.
 */
export type OpenedExport = ExportOpenedHere | ExportAlongside;

/** The export's session, opened here before the rewrite's. */
export interface ExportOpenedHere {
  readonly session: InProcessSession;
  /**
   * A reference thread started for nothing (the rewrite did not apply or could not be
   * staged): awaited before the load ends, never left running (see startExportReference).
   */
  readonly idleReference?: Promise<unknown>;
  /** The rewrite to check, or why there is none ("" when none was asked for). */
  readonly rewrite: PreparedRewrite | string;
  /** `session` has its activation-rounding MatMulNBits at accuracy_level 0 (see checkRewrite). */
  readonly exact: boolean;
}

/**
 * The check's reference being recorded by a thread of its own (startExportReference)
 * while this thread opens the rewrite's session: no session of the export here.
 */
export interface ExportAlongside {
  readonly recording: Promise<RecordedReference | undefined>;
  readonly rewrite: PreparedRewrite & { readonly staged: StagedGraph };
}

/**
 * Reads the export at `modelPath` with `edits` applied, prepares its append-KV rewrite
 * when `kvCache` is "append", and opens the export's session: at accuracy_level 0
 * where MatMulNBits round activations and a rewrite is to be checked (the bytes
 * patched in place for the session's creation, then put back). The bytes read are not
 * kept: a later reopen of the export reads the file again. A graph onnx-proto cannot
 * read is opened as ORT reads it, unedited, with the reason. An export that can be
 * checked alongside (see {@link checksAlongside}) is not opened here: its reference is
 * recorded in a thread of its own, from `config`, while the rewrite's session opens.
 * @throws what createInProcessSession throws.
 */
export async function openExport(
  tools: GraphTools,
  modelPath: string,
  options: SessionOptions,
  kvCache: KvCacheMode,
  edits: LoadTimeEdits,
  config: GenerationConfig,
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
  if (append && read !== undefined) {
    // Started before the rewrite is made: done sooner, it overlaps less of the rewrite's
    // session packing its weights (the 135M fixture's peak: 0.91-1.04 GB, against
    // 0.95-1.23 started once the rewrite was staged).
    const alongside = (await checksAlongside(tools, modelPath, read))
      ? startExportReference({ modelPath, options, config })
      : undefined;
    try {
      const made = await prepareRewrite(tools, modelPath, read);
      if (alongside === undefined) rewrite = made;
      else if (typeof made !== "string" && made.staged !== undefined) {
        await releaseBytes(read.bytes);
        return { recording: alongside, rewrite: { ...made, staged: made.staged } };
      } else {
        const here = await openHere(tools, modelPath, options, read, made);
        return { ...here, idleReference: alongside };
      }
    } catch (error) {
      await alongside; // never left running (see startExportReference)
      throw error;
    }
  }
  return openHere(tools, modelPath, options, read, rewrite);
}

/** The export's session opened here (see {@link openExport}). */
async function openHere(
  tools: GraphTools,
  modelPath: string,
  options: SessionOptions,
  read: ModelForLoad | undefined,
  rewrite: PreparedRewrite | string,
): Promise<ExportOpenedHere> {
  if (read === undefined || typeof rewrite === "string") {
    const { session } = await openOriginal(tools, modelPath, options, read);
    return { session, rewrite, exact: false };
  }
  const prepared = rewrite;
  if (prepared.staged !== undefined) {
    const staged = await openStagedExport(tools, modelPath, options, read, prepared);
    if (staged !== undefined) return staged;
  }
  const { bytes, edited } = read;
  const opened = await tools.withExactMatMulNBits(bytes, async (exact) => {
    const model = { bytes, edited: edited || exact };
    const files = prepared.externalDataFiles;
    const { session } = await openOriginal(tools, modelPath, options, model, files);
    return { session, rewrite: prepared, exact };
  });
  await releaseBytes(bytes); // no session needs them again: a reopen of the export reads the file
  return opened;
}

/**
 * Whether the export's reference can be recorded in a thread of its own while the
 * rewrite's session opens (startExportReference): the export is served from its own
 * file as it is (no edit, no MatMulNBits, which run many times slower unpacked), its
 * weights are external data (which that thread's session reads in place), and the
 * process has room for twice its weights: while both sessions hold them, the load
 * holds a second copy. The 135M fixture's first load: 3.1-3.4 s against 4.2-5.6, peak
 * RSS 0.91-1.04 GB against 0.88-0.92 (two such sessions holding their weights at once,
 * in a bare process: 1,257 MB).
 */
async function checksAlongside(
  tools: GraphTools,
  modelPath: string,
  read: ModelForLoad,
): Promise<boolean> {
  try {
    if (read.edited || tools.externalDataOf(read.bytes).length === 0) return false;
    const levels = findMatMulNBitsLevels(read.bytes);
    if (levels.offsets.length > 0 || levels.unpatchable > 0) return false;
    return hasMemoryRoom(2 * (await readOnnxWeightBytes(modelPath)));
  } catch {
    return false; // unreadable: prepareRewrite or the session says why
  }
}

/**
 * The export's session opened from a file as the rewrite's is (stageGraph: levels
 * at 0 where they round activations), its bytes released before the session is
 * created (from the export's own file when it is unedited and nothing rounds);
 * undefined (the bytes kept) when the folder cannot be written. A float16
 * export is reopened from the staged bytes through openOriginal, which casts them.
 */
async function openStagedExport(
  tools: GraphTools,
  modelPath: string,
  options: SessionOptions,
  read: ModelForLoad,
  rewrite: PreparedRewrite,
): Promise<ExportOpenedHere | undefined> {
  if (!read.edited && roundingLevelOffsets(read.bytes).length === 0) {
    // The file as it is: opened from its own path, with nothing to write.
    await releaseBytes(read.bytes);
    const { session } = await openOriginal(tools, modelPath, options, undefined);
    return { session, rewrite, exact: false };
  }
  const staged = await stageGraph(modelPath, read.bytes);
  if (staged === undefined) return undefined;
  const exact = staged.offsets.length > 0;
  try {
    const session = await createInProcessSession(modelPath, options, staged.path);
    const specs = [...session.inputs, ...session.outputs];
    if (!specs.some((s) => s.dtype === "float16")) return { session, rewrite, exact };
    await session.release();
    const model = { bytes: await readFile(staged.path), edited: true };
    const files = rewrite.externalDataFiles;
    const cast = await openOriginal(tools, modelPath, options, model, files);
    return { session: cast.session, rewrite, exact };
  } finally {
    await rm(staged.path, { force: true });
  }
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
  const staged = await stageGraph(modelPath, bytes);
  return { bytes: staged ? undefined : bytes, staged, externalDataFiles, float16Io };
}
