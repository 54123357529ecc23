import { describe, expect, it } from "vitest";
import { topKLabels } from "../../src/inference/classify.js";
import type { HostTensor } from "../../src/tensor/host-tensor.js";

/** The obvious way: every class scored, sorted by score then index, the first k kept. */
function reference(scores: number[][], labels: string[], k: number) {
  return scores.map((row) => ({
    top: row
      .map((score, index) => ({ label: labels[index] ?? "", score, index }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, Math.min(Math.max(k, 1), labels.length)),
  }));
}

describe("topKLabels", () => {
  it("equals a full sort per row, ties keeping the lower class first, for every k", () => {
    const labels = ["a", "b", "c", "d", "e"];
    // Scores on a coarse grid, so that ties are common.
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * 4) / 4;
    };
    const rows = Array.from({ length: 200 }, () => labels.map(() => next()));
    const tensor: HostTensor = {
      dtype: "float32",
      dims: [rows.length, labels.length],
      data: Float32Array.from(rows.flat()),
    };
    for (const k of [0, 1, 2, 3, 5, 9]) {
      expect(topKLabels(tensor, labels, k)).toEqual(reference(rows, labels, k));
    }
  });
});
