import { ATTENTION_MASK, INPUT_IDS, LOGITS, POSITION_IDS } from "../../onnx/decoder-names.js";
import type { HostTensor } from "../../tensor/host-tensor.js";
import type { KvCache } from "./kv-cache.js";

/** The part of a session the engine needs: one run from feeds to outputs. */
export interface DecoderRunner {
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
}

/** What one step produced: the last position's logits per row, and the grown cache. */
export interface StepResult {
  /** Views into the run's logits output (not copies): read them, do not write them. */
  readonly logits: readonly Float32Array[];
  readonly cache: KvCache;
}

/**
 * Runs the decoder once over `tokens[r]` new tokens for each cache row (a whole
 * prompt at prefill, one token when decoding). Rows with fewer new tokens are
 * left-padded; attention_mask is the cache's mask (0 on spare capacity) plus the new slots, and
 * `position_ids = cumsum(attention_mask) - 1` (0 at padding), so a row's logits do
 * not depend on the rows beside it.
 */
export async function runDecoderStep(
  runner: DecoderRunner,
  cache: KvCache,
  tokens: readonly (readonly number[])[],
): Promise<StepResult> {
  const rows = cache.rows;
  const n = Math.max(...tokens.map((t) => t.length));
  // The model sees every buffered slot: the spare ones of an appending cache are masked.
  const past = cache.capacity;
  const total = past + n;
  const inputIds = new BigInt64Array(rows * n);
  const positions = new BigInt64Array(rows * n);
  const attention = new BigInt64Array(rows * total);
  const fresh: Uint8Array[] = [];
  for (let r = 0; r < rows; r++) {
    const row = tokens[r] ?? [];
    const pad = n - row.length;
    const full = new Uint8Array(total);
    full.set(cache.mask[r] ?? new Uint8Array(cache.length));
    full.fill(1, total - row.length);
    fresh.push(full.slice(past));
    // Hot loop (rows x total per step): constant 1n stores, no BigInt() calls; zeros are already there.
    let seen = 0;
    for (let j = 0; j < total; j++) {
      if (full[j] === 1) {
        seen++;
        attention[r * total + j] = 1n;
      }
      const col = j - past;
      if (col < 0) continue;
      inputIds[r * n + col] = BigInt(col < pad ? 0 : (row[col - pad] ?? 0));
      positions[r * n + col] = BigInt(Math.max(seen - 1, 0));
    }
  }
  const feeds: Record<string, HostTensor> = {
    [INPUT_IDS]: { dtype: "int64", dims: [rows, n], data: inputIds },
    [ATTENTION_MASK]: { dtype: "int64", dims: [rows, total], data: attention },
    ...cache.pastFeeds(),
  };
  if (cache.sig.hasPositionIds)
    feeds[POSITION_IDS] = { dtype: "int64", dims: [rows, n], data: positions };
  const outputs = await runner.run(feeds);
  return {
    logits: lastLogits(outputs[LOGITS], rows, cache.sig.vocabSize),
    cache: cache.advance(outputs, fresh),
  };
}

function lastLogits(tensor: HostTensor | undefined, rows: number, vocab: number): Float32Array[] {
  if (tensor === undefined || !(tensor.data instanceof Float32Array)) {
    throw new Error("the model returned no float32 logits");
  }
  const data = tensor.data;
  // Some exports return logits for the last position only: [rows, 1, vocab].
  const steps = data.length / (rows * vocab);
  return Array.from({ length: rows }, (_, r) => {
    const from = (r * steps + steps - 1) * vocab;
    // A view: the output buffer is this step's alone, and copying 16 x 49,152 floats per step costs.
    return data.subarray(from, from + vocab);
  });
}
