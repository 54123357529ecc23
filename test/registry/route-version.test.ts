import { describe, expect, it } from "vitest";
import { routeVersion } from "../../src/registry/route-version.js";
import { selectVersions } from "../../src/registry/select-versions.js";

describe("selectVersions", () => {
  const available = [3, 1, 7, 5];
  it("applies latest, all and specific", () => {
    expect(selectVersions({ latest: 1 }, available)).toEqual([7]);
    expect(selectVersions({ latest: 2 }, available)).toEqual([5, 7]);
    expect(selectVersions({ latest: 9 }, available)).toEqual([1, 3, 5, 7]);
    expect(selectVersions("all", available)).toEqual([1, 3, 5, 7]);
    expect(selectVersions({ specific: [1, 3, 4] }, available)).toEqual([1, 3]);
    expect(selectVersions({ latest: 1 }, [])).toEqual([]);
  });
});

/** 1000 evenly spaced draws in [0, 1): the exact share each weight should get. */
function distribution(weights: [number, number][], ready: number[]): Map<number, number> {
  const counts = new Map<number, number>();
  const policy = { policy: "weighted" as const, weights: new Map(weights) };
  for (let i = 0; i < 1000; i++) {
    const v = routeVersion(policy, ready, () => i / 1000);
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return counts;
}

describe("routeVersion", () => {
  it("newest takes the highest ready version", () => {
    expect(routeVersion({ policy: "newest" }, [2, 9, 4], () => 0)).toBe(9);
  });

  it("weighted splits by weight", () => {
    expect(
      distribution(
        [
          [1, 90],
          [2, 10],
        ],
        [1, 2],
      ),
    ).toEqual(
      new Map([
        [1, 900],
        [2, 100],
      ]),
    );
  });

  it("redistributes the weight of versions that are not ready in proportion", () => {
    // 3 is not ready: 1 and 2 share 100% in the ratio 60:20.
    expect(
      distribution(
        [
          [1, 60],
          [2, 20],
          [3, 20],
        ],
        [1, 2],
      ),
    ).toEqual(
      new Map([
        [1, 750],
        [2, 250],
      ]),
    );
  });

  it("falls back to newest when no ready version has weight", () => {
    expect(
      distribution(
        [
          [1, 0],
          [5, 10],
        ],
        [1, 2],
      ),
    ).toEqual(new Map([[2, 1000]]));
  });
});
