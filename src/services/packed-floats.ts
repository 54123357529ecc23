import type { Tensor } from "../../gen/inferd/v1/tensor_pb.js";

/** The float_data of each Tensor the fast decoder read as one packed run, until `floatData` is touched. */
const PACKED = new WeakMap<Tensor, Float32Array>();

/** `floatData` made a plain data property again, holding `list`; the typed array is forgotten. */
function settle(tensor: Tensor, list: number[]): number[] {
  PACKED.delete(tensor);
  Object.defineProperty(tensor, "floatData", {
    value: list,
    writable: true,
    enumerable: true,
    configurable: true,
  });
  return list;
}

/**
 * One getter and setter pair for every such Tensor (not closures per tensor), so that
 * V8 gives them all one hidden class. Reading builds the number[] protobuf-es would
 * have decoded, once; writing replaces the values. Either way the typed array is
 * dropped, so what {@link floatDataOf} gives never disagrees with `floatData`.
 */
const ACCESSORS: PropertyDescriptor & ThisType<Tensor> = {
  enumerable: true,
  configurable: true,
  get(): number[] {
    const floats = PACKED.get(this);
    const list = new Array<number>(floats?.length ?? 0);
    for (let i = 0; i < list.length; i++) list[i] = floats?.[i] as number;
    return settle(this, list);
  },
  set(list: number[]): void {
    settle(this, list);
  },
};

/** Defines `floatData` on `o` as the accessor above: a new property, so `o` keeps fast properties. */
function defineFloatData<T extends object>(o: T): asserts o is T & { floatData: number[] } {
  Object.defineProperty(o, "floatData", ACCESSORS);
}

/**
 * `tensor` (as the fast binary decoder built it, its `floatData` empty) with `floats` as
 * its float_data, without a number[]: a copy whose `floatData` is an accessor that
 * builds the list on first read, so every reader of the message (interceptors, the
 * codecs, protobuf-es's `toBinary`, `toJson`, `equals`, a structured clone) still sees
 * exactly the values protobuf-es would have decoded. A copy, fields in the schema's
 * order: turning the existing data property into an accessor would put the object in
 * V8's dictionary mode (~1.3 KB a call). Why: a number[] holds 8 bytes a value on the
 * JS heap, promoted to the old space while the request waits in a batch (1,024 floats:
 * 8 KiB a call), and converting it to a Float32Array costs a loop more.
 */
export function withPackedFloats(tensor: Tensor, floats: Float32Array): Tensor {
  const { $typeName, dtype, shape, doubleData, intData, int64Data, boolData } = tensor;
  const packed = { $typeName, dtype, shape };
  defineFloatData(packed);
  const { stringData, rawData } = tensor;
  const result = Object.assign(packed, {
    doubleData,
    intData,
    int64Data,
    boolData,
    stringData,
    rawData,
  });
  PACKED.set(result, floats);
  return result;
}

/**
 * A tensor's float_data values: the Float32Array {@link withPackedFloats} recorded while
 * nobody touched `floatData`, else `floatData` itself. The one reader that takes the
 * typed array (`decodeTensor`); the array is the message's own: do not write to it.
 */
export function floatDataOf(tensor: Tensor): readonly number[] | Float32Array {
  return PACKED.get(tensor) ?? tensor.floatData;
}
