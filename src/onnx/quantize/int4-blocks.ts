/** A [K, N] float matrix quantized for com.microsoft MatMulNBits with bits = 4. */
export interface Int4Blocks {
  readonly k: number;
  readonly n: number;
  readonly blockSize: number;
  /** ceil(K / block_size). */
  readonly blocks: number;
  /** MatMulNBits input B: uint8 [N, blocks, block_size / 2]. */
  readonly packed: Uint8Array;
  /** MatMulNBits input scales: float [N * blocks]. */
  readonly scales: Float32Array;
  /** MatMulNBits input zero_points: uint8 [N * ceil(blocks / 2)], two blocks a byte. */
  readonly zeroPoints: Uint8Array;
}

/**
 * Quantizes `weights` (row-major [K, N], the right side of `y = x W`) block-wise
 * along K, asymmetric: each block of `blockSize` values of one output column gets a
 * scale and a 4-bit zero point (0 stays exact), over the least-error range of
 * {@link bestRange}. The layout is the op's: column n
 * is row n of B, each byte holds two consecutive k (the first in the low nibble), and
 * zero points pack two blocks a byte the same way, each row padded to a whole byte.
 * K not a multiple of the block is padded with zeros (their codes are the zero point).
 * With `transposed`, `weights` is W^T, row-major [N, K] (a tied output projection's
 * embedding): its rows are already B's, so it is read as it is, not copied transposed.
 */
export function quantizeInt4Blocks(
  weights: Float32Array,
  k: number,
  n: number,
  blockSize: number,
  transposed = false,
): Int4Blocks {
  // W[r][col] is weights[r * rs + col * cs] in either layout.
  const [rs, cs] = transposed ? [1, k] : [n, 1];
  const blocks = Math.ceil(k / blockSize);
  const blob = blockSize / 2;
  const zpRow = Math.ceil(blocks / 2);
  const packed = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  const zeroPoints = new Uint8Array(n * zpRow);
  for (let col = 0; col < n; col++) {
    for (let b = 0; b < blocks; b++) {
      const [start, end] = [b * blockSize, Math.min(k, (b + 1) * blockSize)];
      const { scale, zp } = bestRange(weights, rs, cs, col, start, end);
      scales[col * blocks + b] = scale;
      const zpAt = col * zpRow + (b >> 1);
      zeroPoints[zpAt] = (zeroPoints[zpAt] ?? 0) | (zp << ((b & 1) * 4));
      const base = (col * blocks + b) * blob;
      for (let j = 0; j < blockSize; j++) {
        const r = start + j;
        const v = r < end ? (weights[r * rs + col * cs] ?? 0) : 0;
        const q = Math.min(15, Math.max(0, Math.round(v / scale) + zp));
        packed[base + (j >> 1)] = (packed[base + (j >> 1)] ?? 0) | (q << ((j & 1) * 4));
      }
    }
  }
  return { k, n, blockSize, blocks, packed, scales, zeroPoints };
}

/** Range shrink factors tried per block: clipping a few outliers often lowers the error. */
const SHRINK = [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7];

/**
 * The scale and zero point of one block (rows start..end of column `col`, W[r][col]
 * at `weights[r * rs + col * cs]`) whose
 * round-trip squared error is least among the block's range (widened to include 0)
 * shrunk by each of {@link SHRINK}: plain min/max rounding (onnxruntime's quantizer)
 * is the first candidate, so the result is never worse than it.
 */
function bestRange(
  weights: Float32Array,
  rs: number,
  cs: number,
  col: number,
  start: number,
  end: number,
) {
  let [lo, hi] = [0, 0];
  for (let r = start; r < end; r++) {
    const v = weights[r * rs + col * cs] ?? 0;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  let best = { scale: 1, zp: 0, error: Number.POSITIVE_INFINITY };
  for (const shrink of hi > lo ? SHRINK : [1]) {
    const scale = hi > lo ? ((hi - lo) * shrink) / 15 : 1;
    const zp = Math.min(15, Math.max(0, Math.round((-lo * shrink) / scale)));
    let error = 0;
    for (let r = start; r < end; r++) {
      const v = weights[r * rs + col * cs] ?? 0;
      const q = Math.min(15, Math.max(0, Math.round(v / scale) + zp));
      error += ((q - zp) * scale - v) ** 2;
    }
    if (error < best.error) best = { scale, zp, error };
  }
  return best;
}

/**
 * The [K, N] matrix MatMulNBits computes with from `q`: (code − zero point) × scale,
 * read back from the packed layout. The reference the packing is tested against.
 */
export function dequantizeInt4Blocks(q: Int4Blocks): Float32Array {
  const out = new Float32Array(q.k * q.n);
  const [blob, zpRow] = [q.blockSize / 2, Math.ceil(q.blocks / 2)];
  for (let col = 0; col < q.n; col++) {
    for (let r = 0; r < q.k; r++) {
      const b = Math.floor(r / q.blockSize);
      const j = r % q.blockSize;
      const byte = q.packed[(col * q.blocks + b) * blob + (j >> 1)] ?? 0;
      const code = (byte >> ((j & 1) * 4)) & 15;
      const zp = ((q.zeroPoints[col * zpRow + (b >> 1)] ?? 0) >> ((b & 1) * 4)) & 15;
      out[r * q.n + col] = (code - zp) * (q.scales[col * q.blocks + b] ?? 0);
    }
  }
  return out;
}
