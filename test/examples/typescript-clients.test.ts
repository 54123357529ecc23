import { describe, expect, it } from "vitest";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import { IRIS_LABELS, irisProbabilities, maxAbsDiff } from "../helpers/iris-reference.js";
import { useInferd } from "../helpers/use-inferd.js";
import { bin, runExample } from "./run-example.js";

const live = useInferd({ repository: FIXTURE_REPO });

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const MODELS = ["iris", "multi_io", "text_echo", "tiny_llama"];
/** A hang guard for tests that start child processes, not a speed check. */
const CHILD_PROCESS_TIMEOUT_MS = 120_000;

interface PredictSummary {
  version: number;
  probabilities: number[];
  label: string | null;
}

describe("examples/typescript", () => {
  it(
    "connect-client.ts predicts iris and streams Generate over grpc, grpc-web and connect",
    async () => {
      const out = await runExample(bin("tsx"), [
        "examples/typescript/connect-client.ts",
        live.baseUrl,
      ]);
      const { results } = JSON.parse(out) as {
        results: Record<
          string,
          PredictSummary & {
            models: string[];
            unknownModelCode: string;
            generate: { tokenIds: number[]; finishReason: string }[];
          }
        >;
      };
      expect(Object.keys(results).sort()).toEqual(["connect", "grpc", "grpc-web"]);
      const expected = irisProbabilities(2, SETOSA);
      for (const result of Object.values(results)) {
        expect(result.version).toBe(2);
        expect(maxAbsDiff(result.probabilities, expected)).toBeLessThan(1e-5);
        expect(result.label).toBe("setosa");
        expect(result.models).toEqual(MODELS);
        expect(result.unknownModelCode).toBe("NotFound");
        // Streamed: tokens in several messages, the finish reason in the last one.
        expect(result.generate.length).toBeGreaterThan(1);
        expect(result.generate.flatMap((m) => m.tokenIds)).toHaveLength(4);
        expect(result.generate.map((m) => m.finishReason).at(-1)).toBe("LENGTH");
      }
      // Greedy decoding is deterministic: every protocol carries the same tokens.
      const tokens = Object.values(results).map((r) => r.generate.flatMap((m) => m.tokenIds));
      expect(tokens[1]).toEqual(tokens[0]);
      expect(tokens[2]).toEqual(tokens[0]);
    },
    CHILD_PROCESS_TIMEOUT_MS,
  );

  it(
    "grpc-js-client.ts predicts, keeps a PredictStream open past a bad message, lists models",
    async () => {
      const out = await runExample(bin("tsx"), [
        "examples/typescript/grpc-js-client.ts",
        `127.0.0.1:${live.port}`,
      ]);
      const result = JSON.parse(out) as {
        predict: PredictSummary;
        stream: {
          requestId: string;
          label: string | null;
          errorCode: number;
          errorMessage: string;
        }[];
        models: string[];
      };
      expect(result.predict.version).toBe(2);
      expect(maxAbsDiff(result.predict.probabilities, irisProbabilities(2, SETOSA))).toBeLessThan(
        1e-5,
      );
      expect(result.predict.label).toBe("setosa");
      expect(result.stream.map((r) => [r.requestId, r.label, r.errorCode])).toEqual([
        ["a", IRIS_LABELS[0], 0],
        ["bad", null, 3], // INVALID_ARGUMENT, in-band
        ["c", IRIS_LABELS[2], 0],
      ]);
      expect(result.stream[1]?.errorMessage).toContain('input "features"');
      expect(result.models).toEqual(MODELS);
    },
    CHILD_PROCESS_TIMEOUT_MS,
  );
});
