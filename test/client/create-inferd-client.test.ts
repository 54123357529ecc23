import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  createInferdClient,
  DataType,
  type InferdClientOptions,
  ModelKind,
  VersionState,
} from "../../src/index.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import { IRIS_LABELS, irisProbabilities, maxAbsDiff } from "../helpers/iris-reference.js";
import { useInferd } from "../helpers/use-inferd.js";

const live = useInferd({ repository: FIXTURE_REPO });

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.7, 3.0, 5.2, 2.3];

const cases: [string, InferdClientOptions][] = [
  ["grpc", { protocol: "grpc" }],
  ["grpc-web over HTTP/1.1", { protocol: "grpc-web", httpVersion: "1.1" }],
  ["grpc-web over HTTP/2", { protocol: "grpc-web" }],
  [
    "connect over HTTP/1.1, JSON",
    { protocol: "connect", httpVersion: "1.1", useBinaryFormat: false },
  ],
  ["connect over HTTP/2", { protocol: "connect", httpVersion: "2" }],
];

describe.each(cases)("createInferdClient: %s", (_name, options) => {
  it("predicts iris v1 and v2 with the independently computed probabilities and labels", async () => {
    const client = createInferdClient(live.baseUrl, options);
    try {
      for (const version of [1, 2]) {
        const res = await client.inference.predict({
          model: "iris",
          version,
          inputs: { features: { shape: [2, 4], floatData: [...SETOSA, ...VIRGINICA] } },
        });
        expect(res.version).toBe(version);
        const probs = res.outputs.probabilities;
        expect(probs?.dtype).toBe(DataType.FLOAT32);
        expect(probs?.shape).toEqual([2, 3]);
        const expected = [
          ...irisProbabilities(version, SETOSA),
          ...irisProbabilities(version, VIRGINICA),
        ];
        expect(maxAbsDiff(probs?.floatData ?? [], expected)).toBeLessThan(1e-5);
        expect(res.classifications.map((c) => c.top[0]?.label)).toEqual([
          IRIS_LABELS[0],
          IRIS_LABELS[2],
        ]);
      }
    } finally {
      client.close();
    }
  });

  it("lists models and maps an unknown model to NOT_FOUND", async () => {
    const client = createInferdClient(live.baseUrl, options);
    try {
      const { models } = await client.models.listModels({});
      const byName = new Map(models.map((m) => [m.name, m]));
      expect([...byName.keys()].sort()).toEqual(["iris", "multi_io", "text_echo", "tiny_llama"]);
      expect(byName.get("tiny_llama")?.kind).toBe(ModelKind.GENERATE);
      const iris = byName.get("iris");
      expect(iris?.versions.map((v) => [v.version, v.state])).toEqual([
        [1, VersionState.READY],
        [2, VersionState.READY],
      ]);
      const error = await client.inference
        .predict({ model: "no_such_model", inputs: {} })
        .then(() => undefined, ConnectError.from);
      expect(error?.code).toBe(Code.NotFound);
      expect(error?.rawMessage).toContain("no_such_model");
    } finally {
      client.close();
    }
  });
});

describe("createInferdClient options", () => {
  it("rejects gRPC over HTTP/1.1 at compile time", () => {
    // @ts-expect-error gRPC needs HTTP/2.
    const bad: InferdClientOptions = { protocol: "grpc", httpVersion: "1.1" };
    expect(bad.protocol).toBe("grpc");
  });
});
