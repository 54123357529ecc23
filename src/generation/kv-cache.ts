import type { HostTensor } from "../tensor/host-tensor.js";
import { type DecoderSignature, pastName, presentName } from "./decoder-signature.js";

/** Per-layer key and value tensors, each `[rows, kvHeads, length, headDim]`. */
type LayerTensors = Float32Array[];

/**
 * The KV cache of a batch of sequences, one row each, left-padded to a common
 * length. `mask` marks, per row, which of the `length` slots hold a real token (1)
 * or padding (0); it is the past part of the model's attention_mask.
 *
 * Rows join by {@link KvCache.concat} (the shorter side gets more left padding) and
 * leave by {@link KvCache.select} (leading slots that became padding in every row
 * are trimmed). Because padded slots are masked and positions count only real
 * slots, each row computes what it would compute alone.
 */
export class KvCache {
  private constructor(
    readonly sig: DecoderSignature,
    readonly rows: number,
    readonly length: number,
    readonly mask: readonly Uint8Array[],
    private readonly keys: LayerTensors,
    private readonly values: LayerTensors,
  ) {}

  /** An empty cache of `rows` sequences (the state before prefill). */
  static empty(sig: DecoderSignature, rows: number): KvCache {
    const layers = () => Array.from({ length: sig.numLayers }, () => new Float32Array(0));
    const mask = Array.from({ length: rows }, () => new Uint8Array(0));
    return new KvCache(sig, rows, 0, mask, layers(), layers());
  }

  /** The `past_key_values.*` feeds (sharing this cache's buffers; do not transfer). */
  pastFeeds(): Record<string, HostTensor> {
    const dims = [this.rows, this.sig.numKvHeads, this.length, this.sig.headDim];
    const feeds: Record<string, HostTensor> = {};
    for (let i = 0; i < this.sig.numLayers; i++) {
      feeds[pastName(i, "key")] = {
        dtype: "float32",
        dims,
        data: this.keys[i] ?? new Float32Array(0),
      };
      feeds[pastName(i, "value")] = {
        dtype: "float32",
        dims,
        data: this.values[i] ?? new Float32Array(0),
      };
    }
    return feeds;
  }

  /**
   * The cache after a step: the model's `present.*` outputs (already past + new
   * slots) and the full attention mask rows that the step used.
   */
  advance(presents: Record<string, HostTensor>, mask: readonly Uint8Array[]): KvCache {
    const length = mask[0]?.length ?? 0;
    const take = (kind: "key" | "value") =>
      Array.from({ length: this.sig.numLayers }, (_, i) => {
        const tensor = presents[presentName(i, kind)];
        if (tensor === undefined || !(tensor.data instanceof Float32Array)) {
          throw new Error(`the model returned no float32 ${presentName(i, kind)}`);
        }
        return tensor.data;
      });
    return new KvCache(this.sig, this.rows, length, mask, take("key"), take("value"));
  }

  /** This batch's rows followed by `other`'s, left-padded to the longer length. */
  concat(other: KvCache): KvCache {
    const length = Math.max(this.length, other.length);
    const sources = [...this.rowViews(), ...other.rowViews()];
    return KvCache.assemble(this.sig, sources, length);
  }

  /** Keeps the given rows (in that order), trimming slots that are padding in all of them. */
  select(rows: readonly number[]): KvCache {
    const views = this.rowViews();
    const kept = rows.map((r) => views[r]).filter((v): v is RowView => v !== undefined);
    let start = this.length;
    for (const view of kept) {
      const first = view.mask.indexOf(1);
      start = Math.min(start, first < 0 ? this.length : first);
    }
    const trimmed = kept.map((v) => ({ ...v, offset: start }));
    return KvCache.assemble(this.sig, trimmed, this.length - start);
  }

  private rowViews(): RowView[] {
    return this.mask.map((mask, row) => ({ cache: this, row, mask, offset: 0 }));
  }

  /** Copies each source row's slots `[offset, len)` right-aligned into a new cache of `length` slots. */
  private static assemble(sig: DecoderSignature, sources: RowView[], length: number): KvCache {
    const H = sig.numKvHeads;
    const D = sig.headDim;
    const rows = sources.length;
    const mask = sources.map((s) => {
      const out = new Uint8Array(length);
      out.set(s.mask.subarray(s.offset), length - (s.mask.length - s.offset));
      return out;
    });
    const build = (kind: "keys" | "values") =>
      Array.from({ length: sig.numLayers }, (_, layer) => {
        const out = new Float32Array(rows * H * length * D);
        sources.forEach((s, r) => {
          const src = s.cache[kind][layer] ?? new Float32Array(0);
          const srcLen = s.cache.length;
          const used = srcLen - s.offset;
          for (let h = 0; h < H; h++) {
            const from = ((s.row * H + h) * srcLen + s.offset) * D;
            const to = ((r * H + h) * length + (length - used)) * D;
            out.set(src.subarray(from, from + used * D), to);
          }
        });
        return out;
      });
    return new KvCache(sig, rows, length, mask, build("keys"), build("values"));
  }
}

interface RowView {
  readonly cache: KvCache;
  readonly row: number;
  readonly mask: Uint8Array;
  /** First slot to keep. */
  readonly offset: number;
}
