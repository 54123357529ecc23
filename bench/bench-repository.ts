import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateFixtures } from "../scripts/fixtures/generate-fixtures.js";
import { MLP_HEAVY_WIDTHS } from "../scripts/fixtures/mlp-heavy-model.js";

/** The two model families the bench serves. */
export type BenchFamily = "classifier" | "heavy";

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
  readonly classifierDelayUs: number;
  readonly heavyDelayUs: number;
  readonly instanceCount: number;
  /** model.json session.intra_op_threads for every model; absent keeps ORT's default. */
  readonly intraOpThreads?: number;
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
};

/**
 * Writes a throwaway repository under os.tmpdir(): the demo classifier (iris v2, the
 * version `npm start` serves) and mlp_heavy (~10 M parameters), each twice, as
 * `<family>_nobatch` (no max_batch_size) and `<family>_batch`. Four names in one repo
 * let one server process serve every scenario, so all figures share one run.
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
  };
  const models: BenchModel[] = [];
  for (const family of ["classifier", "heavy"] as const) {
    const delayUs = family === "classifier" ? options.classifierDelayUs : options.heavyDelayUs;
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
    warmup: true,
    ...(model.batching && {
      max_batch_size: model.maxBatchSize,
      max_queue_delay_us: model.maxQueueDelayUs,
    }),
  };
  await writeFile(join(dir, model.name, "model.json"), `${JSON.stringify(config, null, 2)}\n`);
}
