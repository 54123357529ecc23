/**
 * MatMulNBits `accuracy_level` values: 0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 activations.
 * Apart from matmul-nbits-accuracy.ts (which loads the ONNX protobuf schema) so that the
 * CLI can check the flag without loading it at every start.
 */
export const ACCURACY_LEVELS = [0, 1, 2, 3, 4] as const;
