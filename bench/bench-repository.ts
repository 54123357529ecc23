import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateFixtures } from "../scripts/fixtures/generate-fixtures.js";
import { MLP_HEAVY_WIDTHS } from "../scripts/fixtures/mlp-heavy-model.js";
import {
  buildMlpSmallModel,
  MLP_SMALL_IO,
  MLP_SMALL_WIDTHS,
} from "../scripts/fixtures/mlp-small-model.js";

/** The model families the bench can serve: iris v2, mlp_small (64→128→64→10), mlp_heavy. */
export type BenchFamily = "classifier" | "heavy" | "small";

/** One served model of the bench repository: a family with batching on or off. */
export interface BenchModel {
  readonly name: string;
  readonly family: BenchFamily;
  readonly batching: boolean;
  /** model.json's max_queue_delay_us (0 when batching is off). */
  readonly maxQueueDelayUs: number;
  readonly maxBatchSize: number;
  /** Input name and the width of one row (float32). */
  readonly input: string;
  readonly rowWidth: number;
}

/** Batching settings per family; see bench/RESULTS.md for how they were picked. */
export interface BenchRepositoryOptions {
  readonly maxBatchSize: number;
  /** max_queue_delay_us of the classifier and of mlp_small (both microsecond models). */
  readonly classifierDelayUs: number;
  readonly heavyDelayUs: number;
  readonly instanceCount: number;
  /** model.json session.intra_op_threads for every model; absent keeps ORT's default. */
  readonly intraOpThreads?: number;
  /** Families to serve; default classifier and heavy (`npm run bench:batching`). */
  readonly families?: readonly BenchFamily[];
}

export interface BenchRepository {
  readonly dir: string;
  readonly models: readonly BenchModel[];
  /** The .onnx files, for the in-process limit. */
  readonly modelPaths: Readonly<Record<BenchFamily, string>>;
  remove(): Promise<void>;
}

const ROW: Record<BenchFamily, { input: string; rowWidth: number }> = {
  classifier: { input: "features", rowWidth: 4 },
  heavy: { input: "x", rowWidth: MLP_HEAVY_WIDTHS[0] as number },
  small: { input: MLP_SMALL_IO.input, rowWidth: MLP_SMALL_WIDTHS[0] as number },
};

/**
 * Writes a throwaway repository under os.tmpdir(): of `options.families`, the demo
 * classifier (iris v2, the version `npm start` serves), mlp_small (64→128→64→10) and
 * mlp_heavy (~10 M parameters), each twice, as `<family>_nobatch` (no max_batch_size)
 * and `<family>_batch`. All names in one repo let one server process serve every
 * scenario, so all figures share one run. Every family's .onnx is in `modelPaths`.
 */
export async function createBenchRepository(
  options: BenchRepositoryOptions,
): Promise<BenchRepository> {
  const root = await mkdtemp(join(tmpdir(), "inferd-bench-"));
  const source = join(root, "source");
  const dir = join(root, "models");
  await generateFixtures(source, { heavy: true });
  const modelPaths = {
    classifier: join(source, "iris", "2", "model.onnx"),
    heavy: join(source, "mlp_heavy", "1", "model.onnx"),
    small: join(source, "mlp_small.onnx"),
  };
  await writeFile(modelPaths.small, buildMlpSmallModel());
  const models: BenchModel[] = [];
  for (const family of options.families ?? (["classifier", "heavy"] as const)) {
    const delayUs = family === "heavy" ? options.heavyDelayUs : options.classifierDelayUs;
    for (const batching of [false, true]) {
      const model: BenchModel = {
        name: `${family}_${batching ? "batch" : "nobatch"}`,
        family,
        batching,
        maxQueueDelayUs: batching ? delayUs : 0,
        maxBatchSize: batching ? options.maxBatchSize : 0,
        ...ROW[family],
      };
      await writeModel(dir, model, modelPaths[family], options);
      models.push(model);
    }
  }
  return { dir, models, modelPaths, remove: () => rm(root, { recursive: true, force: true }) };
}

async function writeModel(
  dir: string,
  model: BenchModel,
  onnx: string,
  options: BenchRepositoryOptions,
): Promise<void> {
  await mkdir(join(dir, model.name, "1"), { recursive: true });
  await copyFile(onnx, join(dir, model.name, "1", "model.onnx"));
  const config = {
    ...(model.family === "classifier" && { labels: ["setosa", "versicolor", "virginica"] }),
    instance_count: options.instanceCount,
    ...(options.intraOpThreads !== undefined && {
      session: { intra_op_threads: options.intraOpThreads },
    }),
    // BENCH_SESSION='{"allow_spinning":false}' tries session options on every model.
    ...(process.env.BENCH_SESSION && { session: JSON.parse(process.env.BENCH_SESSION) }),
    warmup: true,
    // BENCH_EXECUTION=worker (or inline) pins model.json's execution: "auto" times the
    // model at load, and on a loaded machine the same model lands on either side.
    ...(process.env.BENCH_EXECUTION && { execution: process.env.BENCH_EXECUTION }),
    ...(model.batching && {
      max_batch_size: model.maxBatchSize,
      max_queue_delay_us: model.maxQueueDelayUs,
    }),
  };
  await writeFile(join(dir, model.name, "model.json"), `${JSON.stringify(config, null, 2)}\n`);
}
