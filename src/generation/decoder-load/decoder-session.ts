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
import { type CheckedSession, checkAlongside, checkRewrite } from "./check-rewrite.js";
import { type GraphTools, loadGraphTools, openOriginal } from "./graph-tools.js";
import type { LoadTimeEdits } from "./load-time-edits.js";
import { type OpenedExport, openExport } from "./open-export.js";
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
 * model runs as exported. Where the export is served from its own file with external
 * data and there is room, its outputs on the check's cases are recorded in a thread of
 * its own while the rewrite's session opens (openExport). Otherwise the two sessions
 * (each holding the weights) never exist at once: the export's outputs are recorded,
 * its session released, then the rewrite's opened and compared. A rewrite that passed is cached
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
  const opened = await openExport(tools, modelPath, options, kvCache, edits, config);
  try {
    return await serveOpened(tools, modelPath, options, config, { opened, cached, edits });
  } finally {
    if ("idleReference" in opened) await opened.idleReference;
  }
}

/** The rewrite checked against the export as opened, and whichever passes served. */
async function serveOpened(
  tools: GraphTools,
  modelPath: string,
  options: SessionOptions,
  config: GenerationConfig,
  load: { opened: OpenedExport; cached: string | undefined; edits: LoadTimeEdits },
): Promise<DecoderSession> {
  const { opened, cached, edits } = load;
  const { rewrite } = opened;
  if ("recording" in opened) {
    const served = await checkAlongside(tools, modelPath, options, { ...opened, cached });
    if (served !== undefined) return decoderSession(served, served.signature);
  }
  const session =
    "session" in opened ? opened.session : await exportFromItsFile(tools, modelPath, options);
  const signature = await signatureOf(session, config);
  if (typeof rewrite === "string") return { session, signature, kvCacheNote: rewrite };
  const exact = "exact" in opened && opened.exact;
  const checked = { session, exact, rewrite, signature, cached, edits };
  return decoderSession(await checkRewrite(tools, modelPath, options, checked), signature);
}

/** The served session and the signature, its cache grown as the check decided. */
function decoderSession(served: CheckedSession, signature: DecoderSignature): DecoderSession {
  const kvCacheMode: KvCacheMode = served.appended ? "append" : signature.kvCache;
  return {
    session: served.session,
    signature: { ...signature, kvCache: kvCacheMode },
    kvCacheNote: served.note,
  };
}

/** After the export-reference thread failed: the export's session here, as it comes. */
async function exportFromItsFile(tools: GraphTools, modelPath: string, options: SessionOptions) {
  return (await openOriginal(tools, modelPath, options, undefined)).session;
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
