import { spawnSync } from "node:child_process";
import { delimiter, dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import { irisProbabilities, maxAbsDiff } from "../helpers/iris-reference.js";
import { useInferd } from "../helpers/use-inferd.js";
import { bin, runExample } from "./run-example.js";

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const MODELS = ["iris", "multi_io", "text_echo", "tiny_llama"];
const hasCurl = spawnSync("curl", ["--version"]).status === 0;

const live = useInferd({ repository: FIXTURE_REPO });

/** Splits a script's stdout at its "### <step>" lines into step -> body. */
function steps(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of stdout.split(/^### /m).slice(1)) {
    const newline = part.indexOf("\n");
    out.set(part.slice(0, newline), part.slice(newline + 1).trim());
  }
  return out;
}

function json<T>(sections: Map<string, string>, step: string): T {
  const body = sections.get(step);
  if (body === undefined) throw new Error(`no "### ${step}" in the output`);
  return JSON.parse(body) as T;
}

interface PredictJson {
  version: number;
  outputs: Record<string, { shape: number[]; floatData?: number[]; int64Data?: string[] }>;
  classifications: { top: { label: string }[] }[];
}

interface OipInfer {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: { name: string; data?: number[]; parameters?: { binary_data_size: number } }[];
}

interface ModelJson {
  name: string;
  versions: { version: number; state: string; inputs: { name: string; shape: number[] }[] }[];
}

function expectSetosa(res: PredictJson): void {
  expect(res.version).toBe(2);
  const probs = res.outputs.probabilities?.floatData ?? [];
  expect(maxAbsDiff(probs, irisProbabilities(2, SETOSA))).toBeLessThan(1e-5);
  expect(res.classifications[0]?.top[0]?.label).toBe("setosa");
}

const okCount = async (): Promise<number> => {
  const text = await live.app.metrics.registry.getSingleMetricAsString(
    "inferd_inference_requests_total",
  );
  const line = text.split("\n").find((l) => l.startsWith(OK_SERIES));
  return line === undefined ? 0 : Number(line.slice(OK_SERIES.length));
};
const OK_SERIES = 'inferd_inference_requests_total{model="iris",version="2",code="ok"} ';

describe("examples/shell", () => {
  it.skipIf(!hasCurl)(
    `curl.sh: Predict, errors, GetModel, ListModels, probes and metrics${hasCurl ? "" : " (skipped: no curl)"}`,
    async () => {
      const before = await okCount();
      const out = steps(await runExample("examples/shell/curl.sh", [live.baseUrl]));
      expectSetosa(json<PredictJson>(out, "Predict"));
      expect(json<PredictJson>(out, "Predict").outputs.label?.int64Data).toEqual(["0"]);
      const notFound = json<{ code: string; message: string }>(out, "Predict unknown model");
      expect(notFound.code).toBe("not_found");
      expect(notFound.message).toContain("no_such_model");
      const { model } = json<{ model: ModelJson }>(out, "GetModel");
      expect(model.versions.map((v) => [v.version, v.state])).toEqual([
        [1, "VERSION_STATE_READY"],
        [2, "VERSION_STATE_READY"],
      ]);
      expect(model.versions[0]?.inputs[0]).toMatchObject({ name: "features", shape: [-1, 4] });
      const { models } = json<{ models: ModelJson[] }>(out, "ListModels");
      expect(models.map((m) => m.name).sort()).toEqual(MODELS);
      expect(json(out, "healthz")).toEqual({ status: "live" });
      expect(json(out, "readyz")).toEqual({ status: "ready" });
      expect(out.get("metrics")).toContain(`${OK_SERIES}${before + 1}`);
    },
  );

  it.skipIf(!hasCurl)(
    `oip-curl.sh: OIP metadata, JSON infer and the binary tensor extension${hasCurl ? "" : " (skipped: no curl)"}`,
    async () => {
      const out = steps(await runExample("examples/shell/oip-curl.sh", [live.baseUrl]));
      const server = json<{ name: string; extensions: string[] }>(out, "server metadata");
      expect(server.name).toBe("inferd");
      expect(server.extensions).toContain("binary_tensor_data");
      const model = json<{ inputs: unknown[] }>(out, "model metadata");
      expect(model.inputs).toEqual([{ name: "features", datatype: "FP32", shape: [-1, 4] }]);
      const infer = json<OipInfer>(out, "infer");
      expect([infer.model_name, infer.model_version, infer.id]).toEqual(["iris", "2", "curl-1"]);
      const probs = infer.outputs.find((o) => o.name === "probabilities")?.data ?? [];
      expect(maxAbsDiff(probs, irisProbabilities(2, SETOSA))).toBeLessThan(1e-5);
      expect(infer.outputs.find((o) => o.name === "label")?.data).toEqual([0]);
      expect(json<{ error: string }>(out, "infer unknown model").error).toContain("no_such_model");
      const header = json<OipInfer>(out, "binary infer header");
      expect(header.outputs).toEqual([
        {
          name: "probabilities",
          datatype: "FP32",
          shape: [1, 3],
          parameters: { binary_data_size: 12 },
        },
        { name: "label", datatype: "INT64", shape: [1], data: [0] },
      ]);
      const hex = (out.get("binary infer probabilities") ?? "").split(" ").filter(Boolean);
      const bytes = Uint8Array.from(hex, (h) => Number.parseInt(h, 16));
      expect(Array.from(new Float32Array(bytes.buffer))).toEqual(probs.map(Math.fround));
    },
  );

  // One run of the script covers all three protocols; each test checks its own part.
  let bufCurl: Promise<Map<string, string>> | undefined;
  it.each(["grpc", "grpcweb", "connect"])(
    "buf-curl.sh over %s: methods by reflection, Predict, ListModels",
    async (protocol) => {
      // node_modules/.bin first on PATH, as in npm scripts: buf without npx's start-up per call.
      const path = `${dirname(bin("buf"))}${delimiter}${process.env.PATH ?? ""}`;
      bufCurl ??= runExample("examples/shell/buf-curl.sh", [live.baseUrl], { PATH: path }).then(
        steps,
      );
      const out = await bufCurl;
      const methods = (out.get(`${protocol} list-methods`) ?? "").split("\n");
      for (const method of [
        "inferd.v1.InferenceService/Predict",
        "inferd.v1.InferenceService/PredictStream",
        "inferd.v1.ModelService/ListModels",
        "inferd.v1.GenerationService/Generate",
        "grpc.health.v1.Health/Check",
      ]) {
        expect(methods).toContain(method);
      }
      expectSetosa(json<PredictJson>(out, `${protocol} Predict`));
      const { models } = json<{ models: ModelJson[] }>(out, `${protocol} ListModels`);
      expect(models.map((m) => m.name).sort()).toEqual(MODELS);
    },
    120_000,
  );
});
