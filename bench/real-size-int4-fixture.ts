import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { link, mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { buildOnce } from "./server-process.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The int4 copy of the real-size fixture at `q4Dir` (a version folder), made once from
 * the fp32 one at `fp32Dir` with inferd's own quantizer (`inferd quantize --method
 * int4`, compiled: MatMulNBits block 32, accuracy_level 4, the weights read from
 * model.onnx_data and written inline) and reused when present. The other files
 * (config, tokenizer) are hard links to the fp32 folder's. Returns the line the
 * quantizer printed, or undefined when the copy was already there.
 */
export async function ensureInt4Fixture(
  fp32Dir: string,
  q4Dir: string,
): Promise<string | undefined> {
  if (existsSync(join(q4Dir, "model.onnx"))) return undefined;
  await rm(q4Dir, { recursive: true, force: true });
  await mkdir(q4Dir, { recursive: true });
  for (const file of await readdir(fp32Dir)) {
    if (!file.startsWith("model.onnx")) await link(join(fp32Dir, file), join(q4Dir, file));
  }
  await buildOnce();
  // Written under another name first: an interrupted run must not leave a copy to reuse.
  const partial = join(q4Dir, "model.partial.onnx");
  const cli = join(ROOT, "dist/src/cli/main.js");
  const args = [cli, "quantize", "--method", "int4", join(fp32Dir, "model.onnx"), partial];
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: ROOT });
  if (stdout.includes("beside it")) throw new Error(`expected an inline copy: ${stdout}`);
  await rename(partial, join(q4Dir, "model.onnx"));
  return stdout.trim().replace(partial, join(q4Dir, "model.onnx"));
}
