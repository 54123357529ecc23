/**
 * How a KV layer's buffer is laid out around its slot axis: `rowHeads` blocks (one per
 * row and head) of `from` elements each, of which the first `used` hold data.
 */
export interface RestrideShape {
  readonly rowHeads: number;
  /** Elements per row-head block now (capacity × headDim). */
  readonly from: number;
  /** Elements per row-head block wanted; not fewer than `from`. */
  readonly to: number;
  /** Leading elements of each block worth keeping (length × headDim). */
  readonly used: number;
}

/**
 * A new buffer is reserved for this many times the elements it must hold, so the next
 * few regrowths happen in place. The spare part is never fed nor written until then,
 * and resident memory follows what is written, which is what a regrowth into a fresh
 * buffer writes too.
 */
export const RESTRIDE_RESERVE = 2;

/**
 * `layer` with blocks of `to` elements instead of `from`: each block's `used` elements
 * kept at its start, the rest zero (spare KV slots are fed, masked, so they must be the
 * same zeros a fresh buffer holds). When the layer's ArrayBuffer has room, the blocks
 * move within it (last block first, so no block overwrites one not yet moved) and the
 * returned view replaces `layer`, which must not be read afterwards. Otherwise the data
 * goes to a fresh buffer with {@link RESTRIDE_RESERVE} room. Why: a KV cache regrowth
 * used to allocate every layer anew, and the external memory it released made V8 run
 * long scavenges between decode steps.
 * @throws Error when `to` is less than `from` (the blocks would have to move the other way).
 */
export function restride(layer: Float32Array, shape: RestrideShape): Float32Array {
  const { rowHeads, from, to, used } = shape;
  if (to < from || used > from) throw new Error(`cannot restride ${from} to ${to} (${used} used)`);
  const size = rowHeads * to;
  const inPlace =
    layer.byteOffset === 0 &&
    layer.buffer instanceof ArrayBuffer &&
    layer.buffer.byteLength >= size * Float32Array.BYTES_PER_ELEMENT;
  const out = inPlace
    ? new Float32Array(layer.buffer, 0, size)
    : new Float32Array(
        new ArrayBuffer(size * RESTRIDE_RESERVE * Float32Array.BYTES_PER_ELEMENT),
        0,
        size,
      );
  for (let rh = rowHeads - 1; rh >= 0; rh--) {
    const [src, dst] = [rh * from, rh * to];
    if (inPlace) out.copyWithin(dst, src, src + used);
    else out.set(layer.subarray(src, src + used), dst);
    out.fill(0, dst + used, dst + to);
  }
  return out;
}

/**
 * Copies `count` blocks of `chunk` contiguous elements from `src` (packed) into `dst`,
 * block `b` at `at + b * stride`: a step's new KV slots into the cache. An element
 * loop, monomorphic on Float32Array: a chunk is one slot (headDim floats) per block when
 * decoding, and a subarray per block costs more than the copy.
 */
export function copyChunks(
  src: Float32Array,
  dst: Float32Array,
  count: number,
  chunk: number,
  stride: number,
  at: number,
): void {
  for (let b = 0; b < count; b++) {
    const from = b * chunk;
    const to = b * stride + at;
    for (let k = 0; k < chunk; k++) dst[to + k] = src[from + k] as number;
  }
}
