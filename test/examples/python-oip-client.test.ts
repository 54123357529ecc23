import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageVersion } from "../../src/config/package-version.js";
import { createInferdClient, DataType, type InferdClient, type Tensor } from "../../src/index.js";
import { OIP_PLATFORM } from "../../src/open-inference/open-inference.js";
import { OIP_EXTENSIONS } from "../../src/services/open-inference-service.js";
import { irisProbabilities, maxAbsDiff } from "../helpers/iris-reference.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";
import {
  generatePythonStubs,
  missingPythonTool,
  PYTHON,
  type PythonStubs,
} from "./python-tools.js";
import { runExample } from "./run-example.js";

/** A hang guard for steps that start child processes, not a speed check. */
const CHILD_PROCESS_TIMEOUT_MS = 120_000;
const MODELS = ["iris", "multi_io", "text_echo"] as const;
const missing = missingPythonTool();

/** A tensor as oip_client.py prints it: values, and the bytes raw contents carry in hex. */
interface PyTensor {
  name: string;
  datatype: string;
  shape: number[];
  values: (number | string)[];
  hex: string;
}
interface PyInfer {
  version: string;
  rawOutputs: boolean;
  inputs: PyTensor[];
  outputs: PyTensor[];
}
interface PyResult {
  health: { live: boolean; ready: boolean; modelReady: Record<string, boolean> };
  metadata: {
    server: { name: string; version: string; extensions: string[] };
    models: Record<string, { versions: string[]; platform: string; inputs: unknown[] }>;
    unknownModelCode: string;
  };
  infer: Record<(typeof MODELS)[number], { typed: PyInfer; raw: PyInfer }>;
  stream: { id: string; error: string; outputs: PyTensor[] }[];
  repository: {
    index: { name: string; version: string; state: string; reason: string }[];
    afterUnload: { ready: boolean; index: { state: string; reason: string }[] };
    afterLoad: { ready: boolean };
  };
}

const NUMERIC: Readonly<Record<string, DataType>> = {
  FP32: DataType.FLOAT32,
  INT64: DataType.INT64,
};

/** The inputs Python sent, for inferd.v1 Predict: numeric ones as the very same bytes. */
function predictInputs(tensors: readonly PyTensor[]) {
  return Object.fromEntries(
    tensors.map((t) => {
      if (t.datatype === "BYTES")
        return [
          t.name,
          { dtype: DataType.STRING, shape: t.shape, stringData: t.values as string[] },
        ];
      return [t.name, { dtype: NUMERIC[t.datatype], shape: t.shape, rawData: hexBytes(t.hex) }];
    }),
  );
}

const hexBytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, "hex"));

/** Predict's output as OIP raw bytes in hex: raw_data, or strings length-prefixed (u32 LE). */
function predictHex(t: Tensor): string {
  if (t.dtype !== DataType.STRING) return Buffer.from(t.rawData).toString("hex");
  const parts = t.stringData.flatMap((s) => {
    const bytes = Buffer.from(s, "utf8");
    const size = Buffer.alloc(4);
    size.writeUInt32LE(bytes.length);
    return [size, bytes];
  });
  return Buffer.concat(parts).toString("hex");
}

describe.skipIf(missing !== undefined)(
  `examples/python/oip_client.py${missing ? ` (skipped: ${missing})` : ""}`,
  () => {
    let live: RunningInferd;
    let stubs: PythonStubs;
    let result: PyResult;
    let client: InferdClient;

    beforeAll(async () => {
      stubs = await generatePythonStubs();
      live = await startInferd({ models: MODELS });
      const args = ["examples/python/oip_client.py", `127.0.0.1:${live.port}`];
      const out = await runExample(PYTHON, args, { INFERD_PY_STUBS: stubs.dir });
      result = JSON.parse(out) as PyResult;
      client = createInferdClient(live.baseUrl, { protocol: "grpc" });
    }, CHILD_PROCESS_TIMEOUT_MS);
    afterAll(async () => {
      client?.close();
      await live?.close();
      stubs?.remove();
    });

    /** inferd.v1 Predict of what Python sent, outputs raw. */
    const predict = (model: string, inputs: readonly PyTensor[]) =>
      client.inference.predict({ model, inputs: predictInputs(inputs), rawOutputs: true });

    it("ServerLive, ServerReady and ModelReady answer for each model; an unknown one is not ready", () => {
      expect(result.health).toEqual({
        live: true,
        ready: true,
        modelReady: { iris: true, multi_io: true, text_echo: true, no_such_model: false },
      });
    });

    it("ServerMetadata and ModelMetadata describe the server and the models", () => {
      const { server, models, unknownModelCode } = result.metadata;
      expect(server).toEqual({
        name: "inferd",
        version: packageVersion(),
        extensions: [...OIP_EXTENSIONS],
      });
      expect(models.iris).toEqual({
        versions: ["1", "2"],
        platform: OIP_PLATFORM,
        inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }],
        outputs: [
          { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
          { name: "label", datatype: "INT64", shape: [-1] },
        ],
      });
      expect(models.multi_io?.inputs).toEqual([
        { name: "a", datatype: "FP32", shape: [-1, 3] },
        { name: "b", datatype: "FP32", shape: [-1, 3] },
        { name: "k", datatype: "INT64", shape: [-1, 1] },
      ]);
      expect(models.text_echo?.inputs).toEqual([{ name: "text", datatype: "BYTES", shape: [-1] }]);
      expect(unknownModelCode).toBe("NOT_FOUND");
    });

    const cases = MODELS.flatMap((m) => (["typed", "raw"] as const).map((mode) => [m, mode]));
    it.each(cases)(
      "ModelInfer on %s with %s contents equals inferd.v1 Predict bit for bit",
      async (model, mode) => {
        const oip = result.infer[model as (typeof MODELS)[number]][mode as "typed" | "raw"];
        expect(oip.rawOutputs).toBe(mode === "raw");
        const res = await predict(model, oip.inputs);
        expect(oip.version).toBe(String(res.version));
        expect(oip.outputs.map((o) => o.name).sort()).toEqual(Object.keys(res.outputs).sort());
        for (const out of oip.outputs) {
          const expected = res.outputs[out.name];
          if (expected === undefined) throw new Error(`Predict lacks ${out.name}`);
          expect(out.shape).toEqual(expected.shape);
          expect(out.hex, out.name).toBe(predictHex(expected));
        }
      },
    );

    it("iris and multi_io outputs have the values the models compute", () => {
      const iris = result.infer.iris.raw;
      const [probabilities, label] = iris.outputs;
      const rows = [iris.inputs[0]?.values.slice(0, 4), iris.inputs[0]?.values.slice(4)];
      const expected = rows.flatMap((r) => irisProbabilities(2, r as number[]));
      expect(maxAbsDiff(probabilities?.values as number[], expected)).toBeLessThan(1e-5);
      expect(label?.values).toEqual([0, 2]);
      const [a, b, k] = result.infer.multi_io.typed.inputs.map((t) => t.values as number[]);
      const f = Math.fround;
      const sum = a?.map((v, i) => f(f(v) + f(b?.[i] as number)));
      const scaled = a?.map((v, i) => f(f(v) * (k?.[Math.floor(i / 3)] as number)));
      const [sumOut, scaledOut] = result.infer.multi_io.typed.outputs;
      expect(sumOut?.values).toEqual(sum);
      expect(scaledOut?.values).toEqual(scaled);
    });

    it("BYTES round-trips through text_echo, typed and raw", () => {
      for (const mode of ["typed", "raw"] as const) {
        const { inputs, outputs } = result.infer.text_echo[mode];
        expect(inputs[0]?.values).toEqual(["héllo wörld", "", "inferd"]);
        const [echo, upper] = outputs;
        expect(echo).toEqual({ ...inputs[0], name: "echo" });
        expect(upper?.values).toEqual(["HéLLO WöRLD", "", "INFERD"]);
      }
    });

    it("ModelStreamInfer answers a bad middle message with error_message; the others by id", async () => {
      const [a, bad, c] = result.stream;
      expect(result.stream.map((m) => m.id)).toEqual(["a", "bad", "c"]);
      expect(bad?.error).toContain('input "features": dimension 1 is 3 but the model requires 4');
      expect(bad?.outputs).toEqual([]);
      const rows: [typeof a, number[]][] = [
        [a, [5.1, 3.5, 1.4, 0.2]],
        [c, [6.7, 3.0, 5.2, 2.3]],
      ];
      for (const [answer, row] of rows) {
        expect(answer?.error).toBe("");
        const res = await client.inference.predict({
          model: "iris",
          inputs: { features: { dtype: DataType.FLOAT32, shape: [1, 4], floatData: row } },
          rawOutputs: true,
        });
        const [probabilities, label] = answer?.outputs ?? [];
        expect(probabilities?.hex).toBe(predictHex(res.outputs.probabilities as Tensor));
        expect(label?.values).toEqual([answer === a ? 0 : 2]);
      }
    });

    it("RepositoryIndex lists the versions; multi_io unloads (not ready) and loads (ready)", () => {
      const { index, afterUnload, afterLoad } = result.repository;
      expect(index.map((m) => [m.name, m.version, m.state])).toEqual([
        ["iris", "1", "READY"],
        ["iris", "2", "READY"],
        ["multi_io", "1", "READY"],
        ["text_echo", "1", "READY"],
      ]);
      expect(afterUnload).toEqual({
        ready: false,
        index: [{ name: "multi_io", version: "1", state: "UNAVAILABLE", reason: "unloaded" }],
      });
      expect(afterLoad.ready).toBe(true);
    });
  },
);
