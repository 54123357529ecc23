import { createInProcessSession, type InProcessSession } from "../../runtime/in-process-session.js";
import type { SessionOptions } from "../../runtime/model-runtime.js";
import type { DecoderSignature } from "../engine/decoder-signature.js";
import { cacheRewrite } from "../kv-rewrite/append-kv-cache.js";
import {
  FLOAT16_TOLERANCE,
  FLOAT32_TOLERANCE,
  matchesReference,
  recordReference,
} from "../kv-rewrite/append-kv-check.js";
import { type GraphTools, messageOf, openBytes, openOriginal } from "./graph-tools.js";
import type { LoadTimeEdits } from "./load-time-edits.js";
import type { OpenedExport } from "./open-export.js";

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
 * released before the rewrite's opens, and the rewritten bytes are dropped as soon as
 * no session needs them: a rewrite that passed is cached beside the export at
 * `cached` and served from that file, so no copy of the graph outlives the check.
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
  loaded: OpenedExport & {
    readonly rewrite: OpenedExport["rewrite"] & object;
    readonly signature: DecoderSignature;
    /** Where a rewrite that passes is cached (append-kv-cache.ts); undefined: nowhere. */
    readonly cached: string | undefined;
    readonly edits: LoadTimeEdits;
  },
): Promise<CheckedSession> {
  const { session: original, signature, rewrite, cached, exact } = loaded;
  let note = `the rewritten graph does not compute what the export computes${exact ? EXACT_NOTE : ""}`;
  const reference = await recordReference(original, signature).finally(() => original.release());
  const { externalDataFiles } = rewrite;
  let bytes = rewrite.bytes;
  rewrite.bytes = undefined;
  let candidate: InProcessSession | undefined;
  try {
    if (bytes === undefined) throw new Error("the rewrite was already taken");
    candidate = await openRewrite(tools, modelPath, options, bytes, externalDataFiles, exact);
    const tolerance = rewrite.float16Io ? FLOAT16_TOLERANCE : FLOAT32_TOLERANCE;
    if (await matchesReference(reference, candidate, signature, tolerance)) {
      const kept = cached !== undefined && (await cacheRewrite(cached, bytes)) ? cached : undefined;
      if (exact) {
        await candidate.release();
        candidate = undefined;
        if (kept !== undefined) bytes = undefined; // served from the cached file: the buffer goes first
        candidate = await (bytes === undefined
          ? createInProcessSession(modelPath, options, kept)
          : openBytes(modelPath, options, bytes, externalDataFiles));
      }
      return { session: candidate, appended: true, note: "" };
    }
  } catch (error) {
    // ORT could not load the rewrite: ORT read the export, so it is served as it is.
    note = `the rewrite failed: ${messageOf(error)}`;
  }
  bytes = undefined;
  await candidate?.release();
  const read = await tools.readModelForLoad(modelPath, loaded.edits);
  const reopened = await openOriginal(tools, modelPath, options, read);
  return { session: reopened.session, appended: false, note };
}

/** The rewrite's session, at accuracy_level 0 with `exact` (patched in place for its creation). */
function openRewrite(
  tools: GraphTools,
  modelPath: string,
  options: SessionOptions,
  bytes: Uint8Array,
  externalDataFiles: readonly string[],
  exact: boolean,
): Promise<InProcessSession> {
  const open = () => openBytes(modelPath, options, bytes, externalDataFiles);
  return exact ? tools.withExactMatMulNBits(bytes, open) : open();
}

/** Why a refused rewrite was checked with exact activations (see checkRewrite). */
const EXACT_NOTE = " (both checked with MatMulNBits at accuracy_level 0)";
