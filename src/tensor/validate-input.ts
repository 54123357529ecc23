import { invalidArgument } from "../errors/inferd-error.js";
import { type DType, elementCount, type HostTensor, type TensorSpec } from "./host-tensor.js";
import { materializeValues } from "./materialize-values.js";
import type { TensorInput } from "./tensor-input.js";

function resolveDType(spec: TensorSpec, name: string, input: TensorInput): DType {
  if (input.dtype !== undefined && input.dtype !== spec.dtype) {
    throw invalidArgument(
      `input "${name}": dtype ${input.dtype} does not match the model's ${spec.dtype}`,
      { reason: "dtype_mismatch", input: name, dtype: input.dtype, expected: spec.dtype },
    );
  }
  return spec.dtype;
}

const formatDims = (dims: readonly number[]) => `[${dims.join(", ")}]`;

function checkDims(spec: TensorSpec, name: string, dims: readonly number[]): void {
  const negative = dims.findIndex((d) => !Number.isInteger(d) || d < 0);
  if (negative >= 0) {
    throw invalidArgument(
      `input "${name}": dimension ${negative} is ${dims[negative]}; dimensions must be >= 0`,
    );
  }
  if (dims.length !== spec.dims.length) {
    throw invalidArgument(
      `input "${name}": rank ${dims.length} ${formatDims(dims)} does not match the model's rank ${spec.dims.length} ${formatDims(spec.dims)}`,
    );
  }
  spec.dims.forEach((expected, i) => {
    if (expected >= 0 && dims[i] !== expected) {
      throw invalidArgument(
        `input "${name}": dimension ${i} is ${dims[i]} but the model requires ${expected} (shape ${formatDims(spec.dims)}, -1 is free)`,
      );
    }
  });
}

/**
 * Checks one request tensor against the model's input spec and builds the
 * {@link HostTensor} the runtime takes. The dtype comes from the spec when the
 * client left it unspecified. Every failure is invalid_argument naming the input.
 */
export function materializeInput(spec: TensorSpec, name: string, input: TensorInput): HostTensor {
  if (input.setFields !== undefined && input.setFields.length > 1) {
    throw invalidArgument(
      `input "${name}": more than one data field set (${input.setFields.join(", ")}); set exactly one`,
    );
  }
  const dtype = resolveDType(spec, name, input);
  checkDims(spec, name, input.dims);
  const count = elementCount(input.dims);
  const values = input.values ?? { kind: "raw", bytes: new Uint8Array(0) };
  if (input.values === undefined && count !== 0) {
    throw invalidArgument(
      `input "${name}": no data field set but shape ${formatDims(input.dims)} needs ${count} values`,
    );
  }
  const data =
    dtype === "string" && input.values === undefined
      ? []
      : materializeValues(name, dtype, values, count);
  return { dtype, dims: [...input.dims], data };
}

/**
 * Inputs that share a symbolic dynamic dimension (e.g. "batch_size") must agree on
 * it; onnxruntime would otherwise fail with a less helpful message.
 */
export function checkSharedDims(
  specs: readonly TensorSpec[],
  tensors: Readonly<Record<string, HostTensor>>,
): void {
  const seen = new Map<string, { input: string; size: number }>();
  for (const spec of specs) {
    const tensor = tensors[spec.name];
    if (tensor === undefined) continue;
    spec.dims.forEach((d, i) => {
      const dimName = spec.dimNames[i];
      const size = tensor.dims[i];
      if (d >= 0 || !dimName || size === undefined) return;
      const first = seen.get(dimName);
      if (first === undefined) seen.set(dimName, { input: spec.name, size });
      else if (first.size !== size) {
        throw invalidArgument(
          `inputs "${first.input}" and "${spec.name}" disagree on dimension "${dimName}" (${first.size} vs ${size})`,
        );
      }
    });
  }
}

/**
 * Validates a whole request against the model's inputs: every input present, no
 * unknown names (the message lists the expected ones), each tensor valid, shared
 * symbolic dimensions consistent.
 */
export function validateInputs(
  specs: readonly TensorSpec[],
  inputs: Readonly<Record<string, TensorInput>>,
): Record<string, HostTensor> {
  const expected = specs.map((s) => s.name).join(", ");
  for (const name of Object.keys(inputs)) {
    if (!specs.some((s) => s.name === name)) {
      throw invalidArgument(`unknown input "${name}"; the model expects: ${expected}`);
    }
  }
  const tensors: Record<string, HostTensor> = {};
  for (const spec of specs) {
    const input = inputs[spec.name];
    if (input === undefined)
      throw invalidArgument(`missing input "${spec.name}"; the model expects: ${expected}`);
    tensors[spec.name] = materializeInput(spec, spec.name, input);
  }
  checkSharedDims(specs, tensors);
  return tensors;
}
