import * as ort from "onnxruntime-node";
import type { HostTensor, TensorSpec } from "../tensor/host-tensor.js";
import { lowerThreadPriority } from "./lower-thread-priority.js";
import type { SessionOptions, TensorMap } from "./model-runtime.js";
import { fromOrtTensor, toDType, toOrtTensor } from "./ort-tensor.js";

/**
 * One onnxruntime session on the calling thread. `run` blocks this thread while ORT
 * computes, so the server uses it only inside worker threads; the benchmark uses it
 * directly as the bare `session.run` baseline.
 */
export interface InProcessSession {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Runs the model; `outputNames` empty or absent fetches every output. */
  run(feeds: TensorMap, outputNames?: readonly string[]): Promise<TensorMap>;
  release(): Promise<void>;
}

/**
 * Creates an ORT session for `model` (a path, or a serialised model rewritten in
 * memory, named `modelPath` in errors) with our session options. In a worker thread,
 * `workerNice` lowers the thread's priority first, so that the intra-op threads ORT
 * starts inherit it.
 * @throws Error naming the path and ORT's reason (missing file, corrupt model) or an
 *   input/output whose type inferd cannot serve.
 */
export async function createInProcessSession(
  modelPath: string,
  sessionOptions: SessionOptions = {},
  model: string | Uint8Array = modelPath,
): Promise<InProcessSession> {
  let session: ort.InferenceSession;
  if (sessionOptions.workerNice) lowerThreadPriority(sessionOptions.workerNice);
  try {
    const options = toOrtSessionOptions(sessionOptions);
    session =
      typeof model === "string"
        ? await ort.InferenceSession.create(model, options)
        : await ort.InferenceSession.create(model, options);
  } catch (error) {
    throw new Error(`cannot load ONNX model ${modelPath}: ${messageOf(error)}`, { cause: error });
  }
  let inputs: TensorSpec[];
  let outputs: TensorSpec[];
  try {
    inputs = session.inputMetadata.map((m) => toTensorSpec(m, "input"));
    outputs = session.outputMetadata.map((m) => toTensorSpec(m, "output"));
  } catch (error) {
    await session.release();
    throw new Error(`cannot serve ONNX model ${modelPath}: ${messageOf(error)}`, { cause: error });
  }
  return {
    inputs,
    outputs,
    async run(feeds, outputNames) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(tensor);
      const result =
        outputNames && outputNames.length > 0
          ? await session.run(ortFeeds, [...outputNames])
          : await session.run(ortFeeds);
      const out: Record<string, HostTensor> = {};
      for (const [name, value] of Object.entries(result)) out[name] = fromOrtTensor(value);
      return out;
    },
    release: () => session.release(),
  };
}

/** Maps our session options onto ORT's names; unset fields keep ORT's defaults. */
export function toOrtSessionOptions(options: SessionOptions): ort.InferenceSession.SessionOptions {
  const out: ort.InferenceSession.SessionOptions = {};
  if (options.intraOpThreads !== undefined) out.intraOpNumThreads = options.intraOpThreads;
  if (options.interOpThreads !== undefined) out.interOpNumThreads = options.interOpThreads;
  if (options.graphOptimizationLevel !== undefined) {
    out.graphOptimizationLevel = options.graphOptimizationLevel;
  }
  const session: Record<string, unknown> = {};
  if (options.allowSpinning !== undefined) {
    const spin = options.allowSpinning ? "1" : "0";
    Object.assign(session, {
      intra_op: { allow_spinning: spin },
      inter_op: { allow_spinning: spin },
    });
  }
  if (options.prepackWeights === false) session.disable_prepacking = "1";
  if (Object.keys(session).length > 0) out.extra = { session };
  return out;
}

/**
 * Maps ORT value metadata to a {@link TensorSpec}: symbolic dims ("batch_size") and
 * unknown dims become -1, keeping the symbol in `dimNames` ("" when there is none).
 * @throws Error for non-tensor values (sequences, maps) and unsupported element types.
 */
export function toTensorSpec(
  meta: ort.InferenceSession.ValueMetadata,
  role: "input" | "output",
): TensorSpec {
  if (!meta.isTensor) {
    throw new Error(`${role} "${meta.name}" is not a tensor (sequences and maps are unsupported)`);
  }
  const dims = meta.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1));
  const dimNames = meta.shape.map((d) => (typeof d === "string" ? d : ""));
  const dtype = toDType(meta.type, `${role} "${meta.name}"`);
  return { name: meta.name, dtype, dims, dimNames };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
