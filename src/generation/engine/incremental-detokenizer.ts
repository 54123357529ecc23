/** Decodes a token window into text; skips special tokens. */
export type DecodeFn = (ids: readonly number[]) => string;

/** How many prompt tokens of context the window starts with. */
const PROMPT_CONTEXT = 5;
const REPLACEMENT = "\uFFFD";

/**
 * Turns a growing list of generated token ids into text deltas that are always
 * complete UTF-8 characters.
 *
 * Decoding each token alone is wrong twice over: SentencePiece decoders strip the
 * leading space of the first piece (so " was" after a prompt would lose its space),
 * and a character split over byte-fallback tokens (<0xC3><0xA9>) decodes to U+FFFD
 * until its last byte arrives. So, as TGI and vLLM do, we decode a window that starts
 * a few tokens back (inside the prompt at first) and emit only what the newest tokens
 * add to the window's text; while the window's text ends in U+FFFD nothing is emitted.
 */
export class IncrementalDetokenizer {
  private readonly ids: number[];
  private prefixOffset: number;
  private readOffset: number;

  /** @param promptIds the prompt, whose tail gives the first generated piece its context. */
  constructor(
    private readonly decode: DecodeFn,
    promptIds: readonly number[],
  ) {
    this.ids = promptIds.slice(-PROMPT_CONTEXT);
    this.prefixOffset = 0;
    this.readOffset = this.ids.length;
  }

  /** Adds one token; returns the text it completes ("" while a character is incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const prefix = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decode(this.ids.slice(this.prefixOffset));
    if (full.length <= prefix.length || full.endsWith(REPLACEMENT)) return "";
    const delta = full.slice(prefix.length);
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    // Keep the window short: everything before prefixOffset is already emitted.
    if (this.prefixOffset > 0) {
      this.ids.splice(0, this.prefixOffset);
      this.readOffset -= this.prefixOffset;
      this.prefixOffset = 0;
    }
    return delta;
  }

  /** Text still held back (an incomplete character at the end), emitted as-is when generation ends. */
  flush(): string {
    const prefix = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decode(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    return full.length > prefix.length ? full.slice(prefix.length) : "";
  }
}
