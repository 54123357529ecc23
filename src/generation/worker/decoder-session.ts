import { randomUUID } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInProcessSession, type InProcessSession } from "../../runtime/in-process-session.js";
import type { SessionOptions } from "../../runtime/model-runtime.js";
import {
  type DecoderSignature,
  type KvCacheMode,
  readDecoderSignature,
} from "../engine/decoder-signature.js";
import {
  appendKvCachePath,
  cacheRewrite,
  dropCachedRewrite,
  hasCachedRewrite,
} from "../kv-rewrite/append-kv-cache.js";
import {
  FLOAT16_TOLERANCE,
  FLOAT32_TOLERANCE,
  matchesReference,
  recordReference,
} from "../kv-rewrite/append-kv-check.js";
import type { GenerationConfig } from "../request/generation-config.js";
import type { LoadTimeEdits, ModelForLoad } from "./load-time-edits.js";

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
 * what the export computes (append-kv-check.ts); otherwise, or with "concat", the
 * model runs as exported. The two sessions never exist at once (each holds the
 * weights): the export's outputs on the check's cases are recorded, its session
 * released, then the rewrite's opened and compared. A rewrite that passed is cached
 * beside the export, keyed by the export file's hash (append-kv-cache.ts), so later
 * loads open one session from that file and never decode the graph.
 * `edits` (model.json settings such as MatMulNBits' accuracy_level) apply to both
 * graphs; where MatMulNBits round their activations, the check runs on copies at
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
  const tools = await loadGraphTools();
  const needsBytes = kvCache === "append" || edits.matmulNBitsAccuracyLevel !== undefined;
  let unread = "";
  const read = needsBytes
    ? await tools.readModelForLoad(modelPath, edits).catch((error: unknown) => {
        unread = `the graph could not be read for editing: ${messageOf(error)}`;
        return undefined;
      })
    : undefined;
  const rewrite = kvCache === "append" && read !== undefined ? prepareRewrite(tools, read) : unread;
  const checking = typeof rewrite !== "string" && read !== undefined;
  const opened = await openForCheck(tools, modelPath, options, read, checking);
  const original = opened.session;
  const signature = await signatureOf(original, config);
  if (typeof rewrite === "string" || !opened.readable) {
    const kvCacheNote = kvCache === "concat" || typeof rewrite !== "string" ? "" : rewrite;
    return { session: original, signature, kvCacheNote };
  }
  const loaded = { read, original, signature, rewrite, cached, exact: opened.exact };
  return checkRewrite(tools, modelPath, options, loaded);
}

/**
 * The export's session, with its activation-rounding MatMulNBits at accuracy_level 0
 * when `exact` is asked and it has any (`exact` then true; see checkRewrite). The
 * level-0 bytes are not kept past the session's creation.
 */
async function openForCheck(
  tools: GraphTools,
  modelPath: string,
  options: SessionOptions,
  read: ModelForLoad | undefined,
  exact: boolean,
) {
  const bytes = exact && read !== undefined ? tools.withExactMatMulNBits(read.bytes) : undefined;
  const checked = bytes === undefined ? read : { bytes, edited: true };
  const { session, model } = await openOriginal(tools, modelPath, options, checked);
  return { session, readable: model !== undefined, exact: bytes !== undefined };
}

/**
 * What decodes and edits the graph, loaded by the loads that do (onnx-proto's schema: about
 * 65 ms of CPU), not by one that finds its rewrite cached: that one is spawn-to-ready.
 */
async function loadGraphTools() {
  const [edits, rewrite, graph] = await Promise.all([
    import("./load-time-edits.js"),
    import("../kv-rewrite/append-kv-rewrite.js"),
    import("../../onnx/onnx-graph.js"),
  ]);
  return {
    readModelForLoad: edits.readModelForLoad,
    withFloat32Io: edits.withFloat32Io,
    withExactMatMulNBits: edits.withExactMatMulNBits,
    rewriteForAppendKv: rewrite.rewriteForAppendKv,
    /** The external data files edited bytes refer to (checked as the rewrite checks them). */
    externalDataOf: (bytes: Uint8Array) =>
      rewrite.checkedExternalDataFiles(graph.OnnxGraph.decode(bytes)),
  };
}

type GraphTools = Awaited<ReturnType<typeof loadGraphTools>>;

/** A rewritten graph as it would be served, before any session has it. */
interface PreparedRewrite {
  readonly bytes: Uint8Array;
  readonly externalDataFiles: readonly string[];
  readonly float16Io: boolean;
}

/** The rewritten bytes (float16 inputs and outputs cast as load-time-edits.ts's withFloat32Io does), or why there are none. */
function prepareRewrite(tools: GraphTools, model: ModelForLoad): PreparedRewrite | string {
  try {
    const rewritten = tools.rewriteForAppendKv(model.bytes);
    if (rewritten === undefined)
      return "the graph does not grow its cache in the form the rewrite knows";
    const bytes = tools.withFloat32Io(rewritten.bytes);
    return {
      bytes,
      externalDataFiles: rewritten.externalDataFiles,
      float16Io: bytes !== rewritten.bytes,
    };
  } catch (error) {
    // onnx-proto could not read the graph: ORT read the export, so it is served as it is.
    return `the rewrite failed: ${messageOf(error)}`;
  }
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

/**
 * The export's session, from the edited bytes when there are any. A float16 export
 * (float16 cache and logits) is reopened with float32 inputs and outputs cast inside
 * the graph (castFloat16Io), which is what the engine feeds and reads.
 */
async function openOriginal(
  tools: GraphTools,
  modelPath: string,
  options: SessionOptions,
  read: ModelForLoad | undefined,
): Promise<{ session: InProcessSession; model: ModelForLoad | undefined }> {
  const session = read?.edited
    ? await openBytes(modelPath, options, read.bytes, tools.externalDataOf(read.bytes))
    : await createInProcessSession(modelPath, options);
  const specs = [...session.inputs, ...session.outputs];
  if (!specs.some((s) => s.dtype === "float16")) return { session, model: read };
  await session.release();
  const bytes = read?.bytes ?? (await readFile(modelPath));
  const model = { bytes, edited: true, float16Io: true };
  const cast = tools.withFloat32Io(bytes);
  return { session: await openBytes(modelPath, options, cast, tools.externalDataOf(cast)), model };
}

/**
 * The rewrite's session if it computes what the export's does, else the export's
 * reopened with the reason. The export's session is released before the rewrite's opens.
 *
 * With `exact`, the export has MatMulNBits nodes that round their activations
 * (accuracy_level 2-4, as exported or as model.json sets it), and `original` was opened
 * with them at level 0 (withExactMatMulNBits): the rewrite is checked on such a copy too,
 * then released, and the rewrite at the configured level opened and served. Sound
 * because the check is to prove the graph transformation, and the level is no part of
 * it: the rewrite only splits the attention over past and new slots, never touches a
 * MatMulNBits node, so setting the level commutes with it. At level 4 the check on the
 * served graphs themselves cannot pass on a deep model: the rewrite's reordered float32
 * sums (1e-7 apart) flip int8 roundings of activations, which grow through the layers
 * (SmolLM2-135M's shape: logits > 0.1 apart). Its limit: it cannot vouch for that
 * rounding, so greedy ids served at level 4 may part from the export's at level 4 after
 * some steps, as level 4 parts from level 0 and from itself batched otherwise.
 */
async function checkRewrite(
  tools: GraphTools,
  modelPath: string,
  options: SessionOptions,
  loaded: {
    read: ModelForLoad | undefined;
    original: InProcessSession;
    signature: DecoderSignature;
    rewrite: PreparedRewrite;
    /** Where a rewrite that passes is cached (append-kv-cache.ts); undefined: nowhere. */
    cached: string | undefined;
    /** `original` has its MatMulNBits at accuracy_level 0 where `read` rounds activations. */
    exact: boolean;
  },
): Promise<DecoderSession> {
  const { read, original, signature, rewrite, cached, exact } = loaded;
  let note = `the rewritten graph does not compute what the export computes${exact ? EXACT_NOTE : ""}`;
  const reference = await recordReference(original, signature).finally(() => original.release());
  const { bytes, externalDataFiles } = rewrite;
  let candidate: InProcessSession | undefined;
  try {
    // The level-0 copy is not kept past its session's creation.
    const checked = () => (exact ? (tools.withExactMatMulNBits(bytes) ?? bytes) : bytes);
    candidate = await openBytes(modelPath, options, checked(), externalDataFiles);
    const tolerance = rewrite.float16Io ? FLOAT16_TOLERANCE : FLOAT32_TOLERANCE;
    if (await matchesReference(reference, candidate, signature, tolerance)) {
      if (exact) {
        await candidate.release();
        candidate = undefined;
        candidate = await openBytes(modelPath, options, bytes, externalDataFiles);
      }
      if (cached !== undefined) await cacheRewrite(cached, bytes);
      return {
        session: candidate,
        signature: { ...signature, kvCache: "append" },
        kvCacheNote: "",
      };
    }
  } catch (error) {
    // ORT could not load the rewrite: ORT read the export, so it is served as it is.
    note = `the rewrite failed: ${messageOf(error)}`;
  }
  await candidate?.release();
  const reopened = await openOriginal(tools, modelPath, options, read);
  return { session: reopened.session, signature, kvCacheNote: note };
}

/** Why a refused rewrite was checked with exact activations (see checkRewrite). */
const EXACT_NOTE = " (both checked with MatMulNBits at accuracy_level 0)";

/**
 * A session for edited or rewritten bytes of the export at `modelPath`. With external
 * data the bytes must sit where the data files resolve, and ORT refuses data reached
 * through a link from elsewhere: they are written beside the export as a hidden file,
 * removed once ORT has read them (a read-only folder means the export is served as it is).
 */
async function openBytes(
  modelPath: string,
  options: SessionOptions,
  bytes: Uint8Array,
  externalDataFiles: readonly string[],
) {
  if (externalDataFiles.length === 0) return createInProcessSession(modelPath, options, bytes);
  const path = join(dirname(modelPath), `.inferd-edited-${process.pid}-${randomUUID()}.onnx`);
  try {
    await writeFile(path, bytes, { flag: "wx" });
    return await createInProcessSession(modelPath, options, path);
  } finally {
    await rm(path, { force: true });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
