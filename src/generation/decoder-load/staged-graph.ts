import { randomUUID } from "node:crypto";
import { open, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  patchLevels,
  restoreLevels,
  roundingLevelOffsets,
} from "../../onnx/matmul-nbits-levels.js";
import { releaseBytes } from "./release-bytes.js";

/** A graph (the export's or its rewrite) written beside the export for the check, no longer held in memory. */
export interface StagedGraph {
  readonly path: string;
  /** Offsets of the MatMulNBits levels set to 0 in the file for the check (see checkRewrite). */
  readonly offsets: readonly number[];
  /** The levels those offsets held, to put back before the rewrite is served. */
  readonly held: readonly number[];
}

/**
 * Writes `bytes` (the export as edited, or its rewrite) beside the export at `modelPath` (where its external
 * data resolves), with activation-rounding MatMulNBits at accuracy_level 0 for the
 * check, and releases the bytes (releaseBytes): the sessions that follow open from
 * files, so no copy of the graph is resident while they are created. Undefined when the
 * folder cannot be written; `bytes` are then as they were.
 */
export async function stageGraph(
  modelPath: string,
  bytes: Uint8Array,
): Promise<StagedGraph | undefined> {
  const path = join(dirname(modelPath), `.inferd-staged-${process.pid}-${randomUUID()}.onnx`);
  const offsets = roundingLevelOffsets(bytes);
  const held = patchLevels(bytes, offsets, 0);
  try {
    await writeFile(path, bytes, { flag: "wx" });
  } catch {
    restoreLevels(bytes, offsets, held);
    await rm(path, { force: true }).catch(() => undefined);
    return undefined;
  }
  await releaseBytes(bytes);
  return { path, offsets, held };
}

/** Puts the staged file's MatMulNBits levels back as configured, one byte each, in place. */
export async function restoreStagedLevels(staged: StagedGraph): Promise<void> {
  if (staged.offsets.length === 0) return;
  const file = await open(staged.path, "r+");
  try {
    for (const [i, offset] of staged.offsets.entries()) {
      await file.write(Uint8Array.of(staged.held[i] ?? 0), 0, 1, offset);
    }
  } finally {
    await file.close();
  }
}
