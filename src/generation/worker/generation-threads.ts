/** The intra-op threads a generative version's session gets, and why (for the load log). */
export interface GenerationThreads {
  readonly intraOpThreads: number;
  readonly reason: string;
}

/**
 * The default intra-op threads of a generative version: the machine's cores shared
 * evenly among the generative versions loaded, this one included
 * (`floor(cores / versions)`, at least 1, at most `cores`). A decode step of a model of
 * real size reads every weight once and is bound by memory bandwidth, which a second
 * core raises (SmolLM2-135M's shape on 2 cores: 1.24-1.53x the tokens/s of one
 * thread); versions decoding at once would fight over the same cores beyond that
 * share. Threads of a session are fixed when it is created: versions loaded earlier
 * keep their share when more load.
 */
export function defaultGenerationThreads(cores: number, generativeVersions: number): number {
  const share = Math.floor(Math.max(1, cores) / Math.max(1, generativeVersions));
  return Math.min(Math.max(1, cores), Math.max(1, share));
}

/**
 * model.json's `session.intra_op_threads` when it sets one (0 keeps onnxruntime's own
 * default, one per core), else {@link defaultGenerationThreads}.
 */
export function chooseGenerationThreads(
  configured: number | undefined,
  cores: number,
  generativeVersions: number,
): GenerationThreads {
  if (configured !== undefined)
    return { intraOpThreads: configured, reason: "model.json session.intra_op_threads" };
  const threads = defaultGenerationThreads(cores, generativeVersions);
  const versions =
    generativeVersions === 1 ? "1 generative version" : `${generativeVersions} generative versions`;
  return { intraOpThreads: threads, reason: `${cores} cores shared by ${versions}` };
}
