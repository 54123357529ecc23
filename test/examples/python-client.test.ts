import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInferdClient } from "../../src/index.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import { IRIS_LABELS, irisProbabilities, maxAbsDiff } from "../helpers/iris-reference.js";
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

const missing = missingPythonTool();

interface PythonResult {
  predict: { version: number; probabilities: number[]; label: string; unknownModelCode: string };
  stream: { requestId: string; errorCode: number; label: string | null; errorMessage?: string }[];
  generate: {
    chunks: { text: string; tokenIds: number[]; finishReason: string; completionTokens: number }[];
    predictModelCode: string;
  };
}

describe.skipIf(missing !== undefined)(
  `examples/python/client.py${missing ? ` (skipped: ${missing})` : ""}`,
  () => {
    let live: RunningInferd;
    let stubs: PythonStubs;
    let result: PythonResult;

    beforeAll(async () => {
      stubs = await generatePythonStubs();
      live = await startInferd({ repository: FIXTURE_REPO });
      const out = await runExample(
        PYTHON,
        ["examples/python/client.py", `127.0.0.1:${live.port}`],
        {
          INFERD_PY_STUBS: stubs.dir,
        },
      );
      result = JSON.parse(out) as PythonResult;
    }, CHILD_PROCESS_TIMEOUT_MS);
    afterAll(async () => {
      await live?.close();
      stubs?.remove();
    });

    it("Predict returns iris v2's probabilities and label; an unknown model is NOT_FOUND", () => {
      expect(result.predict.version).toBe(2);
      const expected = irisProbabilities(2, [5.1, 3.5, 1.4, 0.2]);
      expect(maxAbsDiff(result.predict.probabilities, expected)).toBeLessThan(1e-5);
      expect(result.predict.label).toBe("setosa");
      expect(result.predict.unknownModelCode).toBe("NOT_FOUND");
    });

    it("PredictStream answers a bad message in-band and the stream goes on", () => {
      expect(result.stream.map((r) => [r.requestId, r.label, r.errorCode])).toEqual([
        ["a", IRIS_LABELS[0], 0],
        ["bad", null, 3],
        ["c", IRIS_LABELS[2], 0],
      ]);
      expect(result.stream[1]?.errorMessage).toContain("dimension 1 is 3");
    });

    it("Generate streams tokens in several messages, then one with the finish reason", async () => {
      const { chunks, predictModelCode } = result.generate;
      const last = chunks.at(-1);
      expect(chunks.length).toBeGreaterThan(2);
      expect(chunks.slice(0, -1).every((c) => c.finishReason === "FINISH_REASON_UNSPECIFIED")).toBe(
        true,
      );
      expect(last?.finishReason).toBe("FINISH_REASON_LENGTH");
      const tokens = chunks.flatMap((c) => c.tokenIds);
      expect(tokens).toHaveLength(8);
      expect(last?.completionTokens).toBe(8);
      expect(predictModelCode).toBe("FAILED_PRECONDITION");
      // Greedy decoding is deterministic: the TypeScript SDK must see the same tokens.
      const client = createInferdClient(live.baseUrl, { protocol: "grpc" });
      const again: number[] = [];
      for await (const m of client.generation.generate({
        model: "tiny_llama",
        prompt: "Once upon a time",
        maxTokens: 8,
        temperature: 0,
        ignoreEos: true,
      })) {
        again.push(...m.tokenIds);
      }
      client.close();
      expect(tokens).toEqual(again);
    });
  },
);
