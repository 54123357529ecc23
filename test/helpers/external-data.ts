import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** `model` with its float initializers' bytes moved to `<dir>/<file>` (as exporters do with weights). */
export function withExternalData(model: Uint8Array, dir: string, file: string): Uint8Array {
  const proto = onnx.ModelProto.decode(model);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of proto.graph?.initializer ?? []) {
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    const data = t.rawData ?? new Uint8Array();
    chunks.push(data);
    t.rawData = new Uint8Array();
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.externalData = [
      { key: "location", value: file },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(data.length) },
    ];
    offset += data.length;
  }
  mkdirSync(join(dir, file, ".."), { recursive: true });
  writeFileSync(join(dir, file), Buffer.concat(chunks));
  return onnx.ModelProto.encode(proto).finish();
}
