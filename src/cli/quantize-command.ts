import { Command, InvalidArgumentError, Option } from "commander";
import { ACCURACY_LEVELS } from "../onnx/accuracy-levels.js";
import type { QuantizeMethod } from "../onnx/quantize/quantize-model.js";

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
 * changed, naming the embedding of a tied output projection (`MatMul(x,
 * Transpose(embed))`) when that was quantized too. Weights kept in external data files (`model.onnx_data`) are read one tensor
 * at a time; the copy holds its weights inline when under 1.8 GiB, else in
 * `<out>_data` beside it (the printed line names that file).
 */
export function createQuantizeCommand(options: QuantizeCommandOptions): Command {
  const powerOfTwo = (n: number) => n >= 16 && (n & (n - 1)) === 0;
  return new Command("quantize")
    .description(
      "write an int4 (MatMulNBits), int8 (dynamic) or fp16 copy of an ONNX model (external data read; weights inline under 1.8 GiB, else in <out>_data)",
    )
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
    .option(
      "--keep-lm-head",
      "int4/int8: leave the output projection (logits), tied to the embedding or not, in float32",
    )
    .argument("<in>", "the float32 ONNX model")
    .argument("<out>", "where to write the quantized model")
    .action(async (input: string, output: string, flags: QuantizeFlags) => {
      // Loaded when run: the quantizer and the ONNX schema cost every server start ~70 ms of CPU.
      const { quantizeModelFile } = await import("../onnx/quantize/quantize-model-file.js");
      const result = quantizeModelFile(input, output, {
        method: flags.method,
        blockSize: flags.blockSize,
        accuracyLevel: flags.accuracyLevel,
        keepLmHead: flags.keepLmHead === true,
      });
      const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
      const what = flags.method === "fp16" ? "weights converted" : "MatMuls quantized";
      const tied = result.tied.map((e) => ` (tied output projection Transpose(${e}) included)`);
      const written = mb(result.modelBytes + result.dataBytes);
      const where = result.dataFile ? ` (weights in ${result.dataFile} beside it)` : "";
      options.print(
        `${flags.method}: ${result.changed} ${what}${tied.join("")}, ${mb(result.inputBytes)} -> ${written}: ${output}${where}`,
      );
    });
}
