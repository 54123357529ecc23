/** Triton's platform name for an ONNX model served by ONNX Runtime (ModelMetadata, ModelConfig). */
export const OIP_PLATFORM = "onnxruntime_onnx";

/** Triton's backend name for ONNX Runtime (ModelConfig). */
export const OIP_BACKEND = "onnxruntime";
