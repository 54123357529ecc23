import { rm } from "node:fs/promises";
import { createInProcessSession, type InProcessSession } from "../../runtime/in-process-session.js";
import type { SessionOptions } from "../../runtime/model-runtime.js";
import type { DecoderSignature } from "../engine/decoder-signature.js";
import { cacheRewrite, cacheStagedGraph } from "../kv-rewrite/append-kv-cache.js";
import {
  FLOAT16_TOLERANCE,
  FLOAT32_TOLERANCE,
  matchesReference,
  recordReference,
} from "../kv-rewrite/append-kv-check.js";
import { type GraphTools, messageOf, openBytes, openOriginal } from "./graph-tools.js";
import type { LoadTimeEdits } from "./load-time-edits.js";
import type { ExportAlongside, ExportOpenedHere, PreparedRewrite } from "./open-export.js";
import { releaseBytes } from "./release-bytes.js";
import { restoreStagedLevels, type StagedGraph } from "./staged-graph.js";

/** The session served after the check, and whether it is the rewrite's. */
export interface CheckedSession {
  readonly session: InProcessSession;
  readonly appended: boolean;
  /** Why the export is served although the rewrite was asked for; "" when it is not. */
  readonly note: string;
}

/**
 * The rewrite's session if it computes what the export's does, else the export's
 * reopened (read from the file again) with the reason. The export's session is
 * released before the rewrite's opens. The rewrite is opened from the file it was staged
 * to (stageGraph: no copy of the graph is resident while sessions are created), and
 * one that passed is cached by renaming that file to `cached`; in a folder that cannot
 * be written, from its bytes, released once no session needs them.
 *
 * With `exact`, the export has MatMulNBits nodes that round their activations
 * (accuracy_level 2-4, as exported or as model.json sets it), and `original` was opened
 * with them at level 0 (withExactMatMulNBits): the rewrite is checked likewise,
 * patched in place, then the rewrite at the configured level opened and served. Sound
 * because the check is to prove the graph transformation, and the level is no part of
 * it: the rewrite only splits the attention over past and new slots, never touches a
 * MatMulNBits node, so setting the level commutes with it. At level 4 the check on the
 * served graphs themselves cannot pass on a deep model: the rewrite's reordered float32
 * sums (1e-7 apart) flip int8 roundings of activations, which grow through the layers
 * (SmolLM2-135M's shape: logits > 0.1 apart). Its limit: it cannot vouch for that
 * rounding, so greedy ids served at level 4 may part from the export's at level 4 after
 * some steps, as level 4 parts from level 0 and from itself batched otherwise.
 */
export async function checkRewrite(
  tools: GraphTools,
  modelPath: string,
  options: SessionOptions,
  loaded: ExportOpenedHere & {
    readonly rewrite: PreparedRewrite;
    readonly signature: DecoderSignature;
    /** Where a rewrite that passes is cached (append-kv-cache.ts); undefined: nowhere. */
    readonly cached: string | undefined;
    readonly edits: LoadTimeEdits;
  },
): Promise<CheckedSession> {
  const { session: original, signature, rewrite, cached, exact } = loaded;
  let note = `the rewritten graph does not compute what the export computes${exact ? EXACT_NOTE : ""}`;
  const reference = await recordReference(original, signature).finally(() => original.release());
  const tolerance = rewrite.float16Io ? FLOAT16_TOLERANCE : FLOAT32_TOLERANCE;
  const { staged } = rewrite;
  let bytes = rewrite.bytes;
  rewrite.bytes = undefined;
  let candidate: InProcessSession | undefined;
  try {
    candidate = await (staged !== undefined
      ? createInProcessSession(modelPath, options, staged.path)
      : openRewrite(tools, modelPath, options, bytes, rewrite.externalDataFiles, exact));
    if (await matchesReference(reference, candidate, signature, tolerance)) {
      const served = candidate;
      candidate = undefined;
      if (staged !== undefined)
        return await serveStaged(modelPath, options, served, staged, cached);
      const kept =
        cached !== undefined && bytes !== undefined && (await cacheRewrite(cached, bytes));
      if (!exact) return { session: served, appended: true, note: "" };
      await served.release();
      if (kept) bytes = undefined; // served from the cached file
      return {
        session: await openRewrite(
          tools,
          modelPath,
          options,
          bytes,
          rewrite.externalDataFiles,
          false,
          kept ? cached : undefined,
        ),
        appended: true,
        note: "",
      };
    }
  } catch (error) {
    // ORT could not load the rewrite: ORT read the export, so it is served as it is.
    note = `the rewrite failed: ${messageOf(error)}`;
  } finally {
    if (staged !== undefined) await rm(staged.path, { force: true });
    if (bytes !== undefined) await releaseBytes(bytes);
  }
  await candidate?.release();
  const read = await tools.readModelForLoad(modelPath, loaded.edits);
  const reopened = await openOriginal(tools, modelPath, options, read);
  return { session: reopened.session, appended: false, note };
}

/**
 * {@link checkRewrite} for an export whose reference a thread of its own records
 * (startExportReference) while the rewrite's session opens here; with the export's
 * signature, which that thread read. Undefined when the thread failed: the rewrite's
 * session is then released, its staged file kept, for the caller to check in order.
 */
export async function checkAlongside(
  tools: GraphTools,
  modelPath: string,
  options: SessionOptions,
  loaded: ExportAlongside & { readonly cached: string | undefined },
): Promise<(CheckedSession & { readonly signature: DecoderSignature }) | undefined> {
  const { recording, rewrite, cached } = loaded;
  const { staged } = rewrite;
  const candidate = await createInProcessSession(modelPath, options, staged.path).catch(
    (error: unknown) => new Error(messageOf(error)),
  );
  const recorded = await recording;
  if (recorded === undefined) {
    if (!(candidate instanceof Error)) await candidate.release();
    return undefined;
  }
  const { signature, reference } = recorded;
  let note = "the rewritten graph does not compute what the export computes";
  try {
    if (candidate instanceof Error) throw candidate;
    if (await matchesReference(reference, candidate, signature, FLOAT32_TOLERANCE)) {
      return { ...(await serveStaged(modelPath, options, candidate, staged, cached)), signature };
    }
  } catch (error) {
    // ORT could not load or run the rewrite: the export is served as it is.
    note = `the rewrite failed: ${messageOf(error)}`;
  } finally {
    await rm(staged.path, { force: true });
  }
  if (!(candidate instanceof Error)) await candidate.release();
  const { session } = await openOriginal(tools, modelPath, options, undefined);
  return { session, appended: false, note, signature };
}

/**
 * The staged rewrite that passed, served at the configured levels: when the check ran
 * them at 0, the candidate is released, the file's levels put back, and it is reopened.
 * The file is cached by renaming it, or served from where it is staged (and then removed).
 */
async function serveStaged(
  modelPath: string,
  options: SessionOptions,
  candidate: InProcessSession,
  staged: StagedGraph,
  cached: string | undefined,
): Promise<CheckedSession> {
  const exact = staged.offsets.length > 0;
  if (exact) {
    await candidate.release();
    await restoreStagedLevels(staged);
  }
  const kept = cached !== undefined && (await cacheStagedGraph(cached, staged.path));
  const session = exact
    ? await createInProcessSession(modelPath, options, kept ? cached : staged.path)
    : candidate;
  return { session, appended: true, note: "" };
}

/**
 * The rewrite's session from its bytes, at accuracy_level 0 with `exact` (patched in
 * place for its creation), or from `file` when given.
 */
function openRewrite(
  tools: GraphTools,
  modelPath: string,
  options: SessionOptions,
  bytes: Uint8Array | undefined,
  externalDataFiles: readonly string[],
  exact: boolean,
  file?: string,
): Promise<InProcessSession> {
  if (file !== undefined) return createInProcessSession(modelPath, options, file);
  if (bytes === undefined) throw new Error("the rewritten graph was already released");
  const open = () => openBytes(modelPath, options, bytes, externalDataFiles);
  return exact ? tools.withExactMatMulNBits(bytes, open) : open();
}

/** Why a refused rewrite was checked with exact activations (see checkRewrite). */
const EXACT_NOTE = " (both checked with MatMulNBits at accuracy_level 0)";
