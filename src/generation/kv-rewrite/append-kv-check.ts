import {
  ATTENTION_MASK,
  INPUT_IDS,
  KV_KINDS,
  LOGITS,
  POSITION_IDS,
  pastName,
  presentName,
} from "../../onnx/decoder-names.js";
import type { HostTensor } from "../../tensor/host-tensor.js";
import type { DecoderSignature } from "../engine/decoder-signature.js";
import type { DecoderRunner } from "../engine/decoder-step.js";
import { createSeededRandom } from "../engine/seeded-random.js";

/**
 * Largest difference allowed between the two graphs' logits and new keys/values:
 * absolute + relative × the tensor's largest magnitude.
 */
export interface KvCheckTolerance {
  readonly absolute: number;
  readonly relative: number;
}

/** For float32 graphs: the rewrite only reorders sums. */
export const FLOAT32_TOLERANCE: KvCheckTolerance = { absolute: 1e-4, relative: 0 };

/**
 * For float16 graphs: the rewrite's split sums round differently in float16 and the
 * differences grow through the layers (measured on stories260k and tiny_llama: at
 * most 6.5e-4 of the tensor's largest magnitude); 2^-8 (3.9e-3) allowed. A rewrite
 * that changed the maths is off by a good part of the tensor's range.
 */
export const FLOAT16_TOLERANCE: KvCheckTolerance = { absolute: 1e-3, relative: 2 ** -8 };

/**
 * Whether `rewritten` (append-kv-rewrite.ts) computes what `original` computes: the
 * same last-position logits, and as `present.*` the new slots of the original's (within `tolerance`). Runs both
 * on a fixed random case that touches every path the engine uses: a prompt (whose
 * past is one masked slot: the engine never feeds a rewritten graph an empty past,
 * see KvCache.empty), and a left-padded batch of two rows with a past, fed two new
 * tokens and one (a decode step). A rewrite that matched the pattern but changed the
 * maths is thereby never served.
 */
export async function appendKvMatches(
  original: DecoderRunner,
  rewritten: DecoderRunner,
  sig: DecoderSignature,
  tolerance: KvCheckTolerance = FLOAT32_TOLERANCE,
): Promise<boolean> {
  return matchesReference(await recordReference(original, sig), rewritten, sig, tolerance);
}

/**
 * What the export computes on the check's cases: its logits and the new slots of its
 * `present.*`, a few hundred kilobytes. Recorded before the rewritten session is
 * opened, so that the export's session can be released first and the two sessions
 * (each holding the weights) need not exist at once; or in a thread of its own, whose
 * message carries it (startExportReference).
 */
export async function recordReference(
  original: DecoderRunner,
  sig: DecoderSignature,
): Promise<KvCheckReference> {
  const cases: Array<Record<string, HostTensor | undefined>> = [];
  for (const [rows, past, fresh] of CASES) {
    const want = await original.run(checkFeeds(sig, rows, past, fresh));
    const kept: Record<string, HostTensor | undefined> = {
      [LOGITS]: lastPosition(want[LOGITS], rows),
    };
    for (let i = 0; i < sig.numLayers; i++) {
      for (const kind of KV_KINDS) {
        const name = presentName(i, kind);
        kept[name] = lastSlots(want[name], sig, rows, past + fresh, fresh);
      }
    }
    cases.push(kept);
  }
  return { cases };
}

/** The export's outputs on the check's cases ({@link recordReference}). */
export interface KvCheckReference {
  readonly cases: ReadonlyArray<Readonly<Record<string, HostTensor | undefined>>>;
}

/** Whether `rewritten` reproduces `reference` (see {@link appendKvMatches}). */
export async function matchesReference(
  reference: KvCheckReference,
  rewritten: DecoderRunner,
  sig: DecoderSignature,
  tolerance: KvCheckTolerance = FLOAT32_TOLERANCE,
): Promise<boolean> {
  for (const [k, [rows, past, fresh]] of CASES.entries()) {
    const want = reference.cases[k] ?? {};
    const got = await rewritten.run(checkFeeds(sig, rows, past, fresh));
    if (!close(want[LOGITS], lastPosition(got[LOGITS], rows), tolerance)) return false;
    for (const name of presentNames(sig)) {
      if (!close(want[name], got[name], tolerance)) return false;
    }
  }
  return true;
}

/** The check's cases: [rows, past slots, new tokens]. */
const CASES = [
  [1, 1, 3],
  [2, 3, 2],
  [2, 3, 1],
] as const;

function presentNames(sig: DecoderSignature): string[] {
  return Array.from({ length: sig.numLayers }, (_, i) =>
    KV_KINDS.map((kind) => presentName(i, kind)),
  ).flat();
}

function checkFeeds(
  sig: DecoderSignature,
  rows: number,
  past: number,
  fresh: number,
): Record<string, HostTensor> {
  const random = createSeededRandom(20_261_203);
  const total = past + fresh;
  const ids = BigInt64Array.from({ length: rows * fresh }, () =>
    BigInt(Math.floor(random.next() * sig.vocabSize)),
  );
  // The last row has its first past slot padded (with one row: the prompt's spare slot).
  const padded = (rows - 1) * total;
  const mask = BigInt64Array.from({ length: rows * total }, (_, j) => (j === padded ? 0n : 1n));
  const positions = BigInt64Array.from({ length: rows * fresh }, (_, j) => {
    const row = Math.floor(j / fresh);
    return BigInt(past + (j % fresh) - (row === rows - 1 ? 1 : 0));
  });
  const feeds: Record<string, HostTensor> = {
    [INPUT_IDS]: { dtype: "int64", dims: [rows, fresh], data: ids },
    [ATTENTION_MASK]: { dtype: "int64", dims: [rows, total], data: mask },
  };
  if (sig.hasPositionIds) {
    feeds[POSITION_IDS] = { dtype: "int64", dims: [rows, fresh], data: positions };
  }
  const dims = [rows, sig.numKvHeads, past, sig.headDim];
  const size = rows * sig.numKvHeads * past * sig.headDim;
  for (let i = 0; i < sig.numLayers; i++) {
    for (const kind of KV_KINDS) {
      const data = Float32Array.from({ length: size }, () => random.next() * 2 - 1);
      feeds[pastName(i, kind)] = { dtype: "float32", dims, data };
    }
  }
  return feeds;
}

/**
 * Each row's last position of `[rows, positions, vocab]` logits: all the engine reads,
 * and all a rewrite with last-position logits (last-position-logits.ts) computes. The
 * earlier positions' keys and values are still compared, in every layer.
 */
function lastPosition(tensor: HostTensor | undefined, rows: number): HostTensor | undefined {
  const vocab = tensor?.dims.at(-1);
  if (!(tensor?.data instanceof Float32Array) || vocab === undefined) return undefined;
  const steps = tensor.data.length / (rows * vocab);
  const out = new Float32Array(rows * vocab);
  for (let r = 0; r < rows; r++) {
    const from = (r * steps + steps - 1) * vocab;
    out.set(tensor.data.subarray(from, from + vocab), r * vocab);
  }
  return { dtype: "float32", dims: [rows, 1, vocab], data: out };
}

/** The last `fresh` of `total` slots of a [rows, heads, total, dim] tensor. */
function lastSlots(
  tensor: HostTensor | undefined,
  sig: DecoderSignature,
  rows: number,
  total: number,
  fresh: number,
): HostTensor | undefined {
  if (!(tensor?.data instanceof Float32Array)) return undefined;
  const D = sig.headDim;
  const out = new Float32Array(rows * sig.numKvHeads * fresh * D);
  for (let rh = 0; rh < rows * sig.numKvHeads; rh++) {
    const from = (rh * total + total - fresh) * D;
    out.set(tensor.data.subarray(from, from + fresh * D), rh * fresh * D);
  }
  return { dtype: "float32", dims: [rows, sig.numKvHeads, fresh, D], data: out };
}

function close(
  a: HostTensor | undefined,
  b: HostTensor | undefined,
  { absolute, relative }: KvCheckTolerance,
): boolean {
  if (!(a?.data instanceof Float32Array) || !(b?.data instanceof Float32Array)) return false;
  if (a.data.length !== b.data.length || a.dims.join() !== b.dims.join()) return false;
  let largest = 0;
  for (const x of a.data) largest = Math.max(largest, Math.abs(x));
  const bound = absolute + relative * largest;
  for (let i = 0; i < a.data.length; i++) {
    if (!(Math.abs((a.data[i] ?? 0) - (b.data[i] ?? 0)) <= bound)) return false;
  }
  return true;
}
