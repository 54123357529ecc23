import { createInProcessSession, type InProcessSession } from "../../runtime/in-process-session.js";
import type { SessionOptions } from "../../runtime/model-runtime.js";
import {
  type DecoderSignature,
  type KvCacheMode,
  readDecoderSignature,
} from "../engine/decoder-signature.js";
import {
  appendKvCachePath,
  dropCachedRewrite,
  hasCachedRewrite,
} from "../kv-rewrite/append-kv-cache.js";
import type { GenerationConfig } from "../request/generation-config.js";
import { checkRewrite } from "./check-rewrite.js";
import { loadGraphTools } from "./graph-tools.js";
import type { LoadTimeEdits } from "./load-time-edits.js";
import { openExport } from "./open-export.js";
import { sweepStaleLoadFiles } from "./sweep-stale-load-files.js";

/** A decoder's session and how its KV cache is to be grown. */
export interface DecoderSession {
  readonly session: InProcessSession;
  readonly signature: DecoderSignature;
  /** Why the export is served as it is although "append" was asked for; "" otherwise. */
  readonly kvCacheNote: string;
}

/**
 * Opens the decoder at `modelPath`. With `kvCache: "append"` (model.json `kv_cache`,
 * the default) the graph is rewritten so that steps append to the cache instead of
 * copying it (append-kv-rewrite.ts), and the rewrite is served only if it computes
 * what the export computes (check-rewrite.ts); otherwise, or with "concat", the
 * model runs as exported. The two sessions never exist at once (each holds the
 * weights): the export's outputs on the check's cases are recorded, its session
 * released, then the rewrite's opened and compared. A rewrite that passed is cached
 * beside the export, keyed by the export file's hash (append-kv-cache.ts), so later
 * loads open one session from that file and never decode the graph.
 * `edits` (model.json settings such as MatMulNBits' accuracy_level) apply to both
 * graphs; where MatMulNBits round their activations, the check runs with both at
 * accuracy_level 0 and the rewrite is then served at the configured level (checkRewrite).
 * A graph onnx-proto cannot read is served as ORT reads it, unedited, with the reason.
 * @throws what createInProcessSession and readDecoderSignature throw.
 */
export async function openDecoderSession(
  modelPath: string,
  options: SessionOptions,
  config: GenerationConfig,
  kvCache: KvCacheMode,
  edits: LoadTimeEdits = {},
): Promise<DecoderSession> {
  // An unreadable file is the session's to report, in its words: no cache then.
  const cached =
    kvCache === "append"
      ? await appendKvCachePath(modelPath, JSON.stringify(edits)).catch(() => undefined)
      : undefined;
  if (cached !== undefined) {
    const known = await openCached(modelPath, options, config, cached);
    if (known !== undefined) return known;
  }
  await sweepStaleLoadFiles(modelPath);
  const tools = await loadGraphTools();
  const opened = await openExport(tools, modelPath, options, kvCache, edits);
  const signature = await signatureOf(opened.session, config);
  const { rewrite } = opened;
  if (typeof rewrite === "string") {
    return { session: opened.session, signature, kvCacheNote: rewrite };
  }
  const checked = { ...opened, rewrite, signature, cached, edits };
  const served = await checkRewrite(tools, modelPath, options, checked);
  const kvCacheMode: KvCacheMode = served.appended ? "append" : signature.kvCache;
  return {
    session: served.session,
    signature: { ...signature, kvCache: kvCacheMode },
    kvCacheNote: served.note,
  };
}

/** The rewrite's session alone, from the file an earlier load cached when it passed the check. */
async function openCached(
  modelPath: string,
  options: SessionOptions,
  config: GenerationConfig,
  cached: string,
): Promise<DecoderSession | undefined> {
  if (!(await hasCachedRewrite(cached))) return undefined;
  const session = await createInProcessSession(modelPath, options, cached).catch(async () => {
    // ORT refused it (a damaged file, a data file changed underneath): load the long way.
    await dropCachedRewrite(cached);
    return undefined;
  });
  if (session === undefined) return undefined;
  const signature = await signatureOf(session, config);
  return { session, signature: { ...signature, kvCache: "append" }, kvCacheNote: "" };
}

async function signatureOf(session: InProcessSession, config: GenerationConfig) {
  try {
    return readDecoderSignature(session.inputs, session.outputs, config);
  } catch (error) {
    await session.release();
    throw error;
  }
}
