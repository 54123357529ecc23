import { KV_KINDS, type KvKind, pastName, presentName } from "../../onnx/decoder-names.js";
import type { HostTensor } from "../../tensor/host-tensor.js";
import type { DecoderSignature } from "./decoder-signature.js";
import { copyChunks, restride } from "./restride.js";

/** Per-layer key and value tensors, each `[rows, kvHeads, capacity, headDim]`. */
type LayerTensors = Float32Array[];

/**
 * The KV cache of a batch of sequences, one row each, left-padded to a common
 * length. `mask` marks, per row, which of the `length` slots hold a real token (1)
 * or padding (0); it is the past part of the model's attention_mask.
 *
 * Two ways to grow (the signature's `kvCache`):
 * - "concat", the model as exported: its `present.*` are past + new, and become the
 *   cache as they are (`capacity` equals `length`);
 * - "append", a model rewritten by append-kv-rewrite.ts: its `present.*` hold only the
 *   new slots, which are written into buffers with spare `capacity`, so a decode step
 *   copies one slot per row, not the whole past. The spare slots are fed too, masked.
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
    /** Slots the buffers hold per row (>= length); the past length the model is fed. */
    readonly capacity: number,
    readonly mask: readonly Uint8Array[],
    private readonly keys: LayerTensors,
    private readonly values: LayerTensors,
  ) {}

  /**
   * An empty cache of `rows` sequences (the state before prefill). When appending it
   * already has a spare (masked) slot: a rewritten graph is never fed an empty past,
   * because a shape computed from a 0-long cache would read as "copy this dim" in
   * ONNX Reshape.
   */
  static empty(sig: DecoderSignature, rows: number): KvCache {
    const capacity = sig.kvCache === "append" ? 1 : 0;
    const size = rows * sig.numKvHeads * capacity * sig.headDim;
    const layers = () => Array.from({ length: sig.numLayers }, () => new Float32Array(size));
    const mask = Array.from({ length: rows }, () => new Uint8Array(0));
    return new KvCache(sig, rows, 0, capacity, mask, layers(), layers());
  }

  /**
   * A one-row cache holding `length` real slots (a reused prompt prefix), from
   * per-layer `[kvHeads, length, headDim]` keys and values; when appending, with spare
   * capacity like any grown cache. Positions continue after them (decoder-step.ts).
   */
  static fromSlots(
    sig: DecoderSignature,
    keys: readonly Float32Array[],
    values: readonly Float32Array[],
    length: number,
  ): KvCache {
    const capacity = sig.kvCache === "append" ? withHeadroom(length) : length;
    const [H, D] = [sig.numKvHeads, sig.headDim];
    const place = (src: readonly Float32Array[]) =>
      src.map((layer) => {
        if (capacity === length) return layer.slice();
        const out = new Float32Array(H * capacity * D);
        for (let h = 0; h < H; h++) {
          out.set(layer.subarray(h * length * D, (h + 1) * length * D), h * capacity * D);
        }
        return out;
      });
    const mask = [new Uint8Array(length).fill(1)];
    return new KvCache(sig, 1, length, capacity, mask, place(keys), place(values));
  }

  /**
   * Row `row`'s real tokens `[from, from + count)` (padding skipped: a row prefilled
   * beside others may have masked slots between its chunks), per layer
   * `[kvHeads, count, headDim]`: what {@link fromSlots} takes back.
   */
  readSlots(
    row: number,
    from: number,
    count: number,
  ): { keys: Float32Array[]; values: Float32Array[] } {
    const [H, D] = [this.sig.numKvHeads, this.sig.headDim];
    const slots: number[] = [];
    this.mask[row]?.forEach((m, slot) => {
      if (m === 1) slots.push(slot);
    });
    if (from + count > slots.length) {
      throw new Error(`row ${row} holds ${slots.length} tokens, not ${from + count}`);
    }
    const read = (src: LayerTensors) =>
      src.map((layer) => {
        const out = new Float32Array(H * count * D);
        for (let h = 0; h < H; h++) {
          const base = (row * H + h) * this.capacity;
          for (let k = 0; k < count; k++) {
            const at = (base + (slots[from + k] ?? 0)) * D;
            out.set(layer.subarray(at, at + D), (h * count + k) * D);
          }
        }
        return out;
      });
    return { keys: read(this.keys), values: read(this.values) };
  }

  /** The `past_key_values.*` feeds (sharing this cache's buffers; do not transfer). */
  pastFeeds(): Record<string, HostTensor> {
    const dims = [this.rows, this.sig.numKvHeads, this.capacity, this.sig.headDim];
    const feeds: Record<string, HostTensor> = {};
    for (let i = 0; i < this.sig.numLayers; i++) {
      const key = this.keys[i] ?? new Float32Array(0);
      const value = this.values[i] ?? new Float32Array(0);
      feeds[pastName(i, "key")] = { dtype: "float32", dims, data: key };
      feeds[pastName(i, "value")] = { dtype: "float32", dims, data: value };
    }
    return feeds;
  }

  /**
   * The cache after a step that fed `capacity` past slots and `fresh[r].length` new
   * ones per row (`fresh[r]`: the new slots' mask), given the model's `present.*`.
   * When appending, it takes over this cache's buffers (written in place, restrided in
   * place on regrowth): this cache must not be read afterwards.
   */
  advance(presents: Record<string, HostTensor>, fresh: readonly Uint8Array[]): KvCache {
    const n = fresh[0]?.length ?? 0;
    const length = this.length + n;
    const mask = this.mask.map((old, r) => {
      const row = new Uint8Array(length);
      row.set(old);
      row.set(fresh[r] ?? new Uint8Array(n), this.length);
      return row;
    });
    if (this.sig.kvCache === "concat") {
      const take = (kind: KvKind) =>
        Array.from({ length: this.sig.numLayers }, (_, i) => presentData(presents, i, kind));
      return new KvCache(this.sig, this.rows, length, length, mask, take("key"), take("value"));
    }
    const capacity = length > this.capacity ? withHeadroom(length) : this.capacity;
    const [keys, values] = [this.grown(this.keys, capacity), this.grown(this.values, capacity)];
    const next = new KvCache(this.sig, this.rows, length, capacity, mask, keys, values);
    next.write(presents, this.length, n);
    return next;
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

  /**
   * Copies the `n` new slots of each row from `presents` ([rows, heads, n, dim]) to
   * slot `at` (the length before this step).
   */
  private write(presents: Record<string, HostTensor>, at: number, n: number): void {
    const rowHeads = this.rows * this.sig.numKvHeads;
    const chunk = n * this.sig.headDim;
    for (let i = 0; i < this.sig.numLayers; i++) {
      for (const kind of KV_KINDS) {
        const src = presentData(presents, i, kind);
        const dst = (kind === "key" ? this.keys : this.values)[i];
        if (dst === undefined || src.length !== rowHeads * chunk) {
          throw new Error(`${presentName(i, kind)} has ${src.length} values, not ${n} new slots`);
        }
        copyChunks(
          src,
          dst,
          rowHeads,
          chunk,
          this.capacity * this.sig.headDim,
          at * this.sig.headDim,
        );
      }
    }
  }

  /**
   * This cache's layers restrided to `capacity` slots per row (themselves when it is
   * unchanged), in place when their ArrayBuffers have room (see {@link restride}).
   */
  private grown(layers: LayerTensors, capacity: number): LayerTensors {
    if (capacity === this.capacity) return layers;
    const { numKvHeads: H, headDim: D } = this.sig;
    const shape = { rowHeads: this.rows * H, from: this.capacity * D, to: capacity * D };
    return layers.map((layer) => restride(layer, { ...shape, used: this.length * D }));
  }

  private rowViews(): RowView[] {
    return this.mask.map((mask, row) => ({ cache: this, row, mask, offset: 0 }));
  }

  /**
   * Copies each source row's slots `[offset, len)` right-aligned into a new cache of
   * `length` slots (and spare capacity when appending).
   */
  private static assemble(
    sig: DecoderSignature,
    sources: RowView[],
    length: number,
    capacity = sig.kvCache === "append" ? withHeadroom(length) : length,
  ): KvCache {
    const [H, D, rows] = [sig.numKvHeads, sig.headDim, sources.length];
    const mask = sources.map((s) => {
      const out = new Uint8Array(length);
      out.set(s.mask.subarray(s.offset), length - (s.mask.length - s.offset));
      return out;
    });
    const build = (kind: "keys" | "values") =>
      Array.from({ length: sig.numLayers }, (_, layer) => {
        const out = new Float32Array(rows * H * capacity * D);
        sources.forEach((s, r) => {
          const src = s.cache[kind][layer] ?? new Float32Array(0);
          const used = s.cache.length - s.offset;
          for (let h = 0; h < H; h++) {
            const from = ((s.row * H + h) * s.cache.capacity + s.offset) * D;
            const to = ((r * H + h) * capacity + (length - used)) * D;
            out.set(src.subarray(from, from + used * D), to);
          }
        });
        return out;
      });
    return new KvCache(sig, rows, length, capacity, mask, build("keys"), build("values"));
  }
}

/**
 * Capacity for `length` slots when appending: room for 8 more, or an eighth more
 * for long caches. The spare slots are fed (masked), so more headroom costs
 * attention work on every step; less means copying the cache more often. Exported for
 * the benchmarks' floors, which feed the graph the capacities the engine does.
 */
export function withHeadroom(length: number): number {
  return length + Math.max(8, Math.ceil(length / 8));
}

function presentData(presents: Record<string, HostTensor>, i: number, kind: KvKind) {
  const tensor = presents[presentName(i, kind)];
  if (tensor === undefined || !(tensor.data instanceof Float32Array)) {
    throw new Error(`the model returned no float32 ${presentName(i, kind)}`);
  }
  return tensor.data;
}

interface RowView {
  readonly cache: KvCache;
  readonly row: number;
  readonly mask: Uint8Array;
  /** First slot to keep. */
  readonly offset: number;
}
