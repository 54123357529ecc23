import { readFile, writeFile } from "node:fs/promises";
import { Command, InvalidArgumentError, Option } from "commander";
import { ACCURACY_LEVELS } from "../onnx/matmul-nbits-accuracy.js";
import { type QuantizeMethod, quantizeModel } from "../onnx/quantize/quantize-model.js";

/** What `inferd quantize` reads besides argv: where it reports (stdout in main). */
export interface QuantizeCommandOptions {
  readonly print: (line: string) => void;
}

interface QuantizeFlags {
  method: QuantizeMethod;
  blockSize: number;
  accuracyLevel: number;
  keepLmHead?: boolean;
}

const integerIn = (allowed: (n: number) => boolean, what: string) => (raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || !allowed(n)) throw new InvalidArgumentError(`expected ${what}`);
  return n;
};

/**
 * `inferd quantize --method int4|int8|fp16 <in.onnx> <out.onnx>`: writes a quantized
 * copy of a float32 ONNX model (src/onnx/quantize/), in the forms onnx-community
 * publishes (model_q4.onnx, model_quantized.onnx, model_fp16.onnx), and prints what
 * changed. Weights held in external data files are left as they are.
 */
export function createQuantizeCommand(options: QuantizeCommandOptions): Command {
  const powerOfTwo = (n: number) => n >= 16 && (n & (n - 1)) === 0;
  return new Command("quantize")
    .description("write an int4 (MatMulNBits), int8 (dynamic) or fp16 copy of an ONNX model")
    .addOption(
      new Option("--method <method>", "the weight format")
        .choices(["int4", "int8", "fp16"])
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--block-size <n>", "int4: weights per scale along K (power of two ≥ 16)")
        .default(32)
        .argParser(integerIn(powerOfTwo, "a power of two of at least 16")),
    )
    .addOption(
      new Option(
        "--accuracy-level <n>",
        "int4: MatMulNBits accuracy_level written (4: int8 activations)",
      )
        .default(4)
        .argParser(
          integerIn((n) => ACCURACY_LEVELS.some((l) => l === n), "an integer from 0 to 4"),
        ),
    )
    .option("--keep-lm-head", "int4/int8: leave the output projection (logits) in float32")
    .argument("<in>", "the float32 ONNX model")
    .argument("<out>", "where to write the quantized model")
    .action(async (input: string, output: string, flags: QuantizeFlags) => {
      const bytes = await readFile(input);
      const result = quantizeModel(bytes, {
        method: flags.method,
        blockSize: flags.blockSize,
        accuracyLevel: flags.accuracyLevel,
        keepLmHead: flags.keepLmHead === true,
      });
      await writeFile(output, result.bytes);
      const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
      const what = flags.method === "fp16" ? "weights converted" : "MatMuls quantized";
      options.print(
        `${flags.method}: ${result.changed} ${what}, ${mb(bytes.length)} -> ${mb(result.bytes.length)}: ${output}`,
      );
    });
}
