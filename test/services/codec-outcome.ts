import type { Rand } from "../hostile/fuzz-mutations.js";

/** What a decode gave: its value, or its error's words and class. */
export type Outcome = { value: unknown } | { error: string; type: string };

/**
 * Runs `decode` and says what came of it, so that a hand-written codec and protobuf-es
 * can be compared on errors as well as values (the differential codec tests).
 */
export function outcomeOf(decode: () => unknown): Outcome {
  try {
    return { value: decode() };
  } catch (error) {
    return { error: String(error), type: (error as Error).constructor.name };
  }
}

/** Counts how many encodings the hand-written writer answered (see {@link bytesOutcomeOf}). */
export interface FastCount {
  fast: number;
}

/**
 * Runs a binary `encode` and says what came of it; counts in `count` the answers that
 * are Buffers: only the hand-written writers answer from Node's pool, `toBinary` does not.
 */
export function bytesOutcomeOf(
  encode: () => Uint8Array,
  count: FastCount,
): { bytes: number[] } | { error: string } {
  try {
    const bytes = encode();
    if (Buffer.isBuffer(bytes)) count.fast++;
    return { bytes: [...bytes] };
  } catch (error) {
    return { error: String(error) };
  }
}

/** `bytes` with one random byte-level mutation: a byte changed, cut short, one inserted, a few removed. */
export function mutateBytes(rand: Rand, bytes: Uint8Array): Uint8Array {
  const out = [...bytes];
  const pick = rand.int(4);
  if (pick === 0 && out.length > 0) out[rand.int(out.length)] = rand.int(256);
  else if (pick === 1) out.length = rand.int(out.length + 1);
  else if (pick === 2) out.splice(rand.int(out.length + 1), 0, rand.int(256));
  else out.splice(rand.int(out.length + 1), rand.int(4));
  return Uint8Array.from(out);
}
