import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { isAbsolute, join, normalize, sep } from "node:path";
import onnxProto from "onnx-proto";
import type { OnnxTensor } from "./onnx-graph.js";

const { onnx } = onnxProto;

/** Where an initializer's bytes lie in an ONNX external data file. */
export interface ExternalDataRef {
  /** The file, relative to the model's folder (e.g. `model.onnx_data`). */
  readonly location: string;
  readonly offset: number;
  /** Bytes; absent from the entry means "to the end of the file" (as onnx reads it). */
  readonly length: number | undefined;
}

/** The external data entry of `tensor`, or undefined when its data is inside the model. */
export function externalDataRef(tensor: OnnxTensor): ExternalDataRef | undefined {
  if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return undefined;
  const entry = (key: string) => tensor.externalData?.find((e) => e.key === key)?.value;
  const length = entry("length");
  return {
    location: entry("location") ?? "",
    offset: Number(entry("offset") ?? 0),
    length: length === undefined || length === null ? undefined : Number(length),
  };
}

/** Reads initializers' bytes from the external data files of one model. */
export interface ExternalDataReader {
  /** The model's folder, which locations are relative to. */
  readonly dir: string;
  /** The bytes of `tensor` (a fresh, aligned copy), read from its file alone. */
  read(tensor: OnnxTensor): Uint8Array;
  /** Closes the files opened so far. */
  close(): void;
}

/**
 * A reader of the external data files beside a model in `modelDir`: each tensor is
 * read on its own (positioned reads, files kept open), so a model of gigabytes is
 * never held whole. Synchronous: it serves the quantizer's synchronous graph walk.
 * read() throws an Error naming the tensor when its location leaves the model's folder
 * (absolute or `..`, as onnxruntime refuses too) or the file is shorter than the entry says.
 */
export function openExternalData(modelDir: string): ExternalDataReader {
  const files = new Map<string, number>();
  const fdOf = (location: string, name: string) => {
    const path = externalDataPath(modelDir, location, `initializer "${name}"`);
    let fd = files.get(path);
    if (fd === undefined) {
      fd = openSync(path, "r");
      files.set(path, fd);
    }
    return fd;
  };
  return {
    dir: modelDir,
    read(tensor) {
      const name = tensor.name ?? "";
      const ref = externalDataRef(tensor);
      if (ref === undefined) throw new Error(`initializer "${name}" has no external data`);
      const fd = fdOf(ref.location, name);
      const length = ref.length ?? fstatSync(fd).size - ref.offset;
      const bytes = new Uint8Array(Math.max(0, length));
      let done = 0;
      while (done < bytes.length) {
        const n = readSync(fd, bytes, done, bytes.length - done, ref.offset + done);
        if (n === 0) {
          throw new Error(
            `initializer "${name}": ${ref.location} ends before byte ${ref.offset + length}`,
          );
        }
        done += n;
      }
      return bytes;
    },
    close() {
      for (const fd of files.values()) closeSync(fd);
      files.clear();
    },
  };
}

/**
 * The path of external data file `location` of a model in `modelDir`.
 * @throws Error naming `what` when the location leaves the model's folder (absolute
 *   or through `..`; onnxruntime refuses those too) or is empty.
 */
export function externalDataPath(modelDir: string, location: string, what: string): string {
  const path = normalize(location);
  if (location === "" || isAbsolute(path) || path === ".." || path.startsWith(`..${sep}`)) {
    throw new Error(
      `${what}: external data location "${location}" is not inside the model's folder`,
    );
  }
  return join(modelDir, path);
}
