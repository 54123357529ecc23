import { describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import { withBigRunsOffLoop } from "../../src/runtime/big-runs-off-loop.js";
import type { LoadedModel } from "../../src/runtime/model-runtime.js";
import { column, createFakeModel, yValues } from "../helpers/fake-model.js";

function setUp(start?: () => Promise<LoadedModel>) {
  const inline = createFakeModel();
  const offLoop = createFakeModel();
  let starts = 0;
  const model = withBigRunsOffLoop(inline, {
    maxRows: 3,
    start: () => {
      starts++;
      return start?.() ?? Promise.resolve(offLoop);
    },
  });
  return { inline, offLoop, model, starts: () => starts };
}

describe("withBigRunsOffLoop", () => {
  it("runs up to maxRows rows inline and bigger runs in the one model it starts", async () => {
    const { inline, offLoop, model, starts } = setUp();
    expect(yValues(await model.run({ x: column(1, 2, 3) }))).toEqual([3, 5, 7]);
    expect(starts()).toBe(0);
    const big = await Promise.all([
      model.run({ x: column(1, 2, 3, 4) }),
      model.run({ x: column(0, 0, 0, 0, 1) }),
    ]);
    expect(big.map(yValues)).toEqual([
      [3, 5, 7, 9],
      [1, 1, 1, 1, 3],
    ]);
    expect([inline.runs.map((r) => r.rows), offLoop.runs.map((r) => r.rows), starts()]).toEqual([
      [3],
      [4, 5],
      1,
    ]);
  });

  it("fails a big run whose worker does not start, and tries again on the next", async () => {
    let attempt = 0;
    const offLoop = createFakeModel();
    const { model, starts } = setUp(() =>
      ++attempt === 1 ? Promise.reject(new Error("no worker")) : Promise.resolve(offLoop),
    );
    await expect(model.run({ x: column(1, 2, 3, 4) })).rejects.toThrow("no worker");
    expect(yValues(await model.run({ x: column(1, 2, 3, 4) }))).toEqual([3, 5, 7, 9]);
    expect(starts()).toBe(2);
  });

  it("disposes both sides and refuses big runs once disposing", async () => {
    const { inline, offLoop, model } = setUp();
    await model.run({ x: column(1, 2, 3, 4) });
    await model.dispose();
    expect([inline.disposed, offLoop.disposed]).toEqual([true, true]);
    const refused = await model.run({ x: column(1, 2, 3, 4) }).catch((e: unknown) => e);
    expect(isInferdError(refused) && refused.kind).toBe("unavailable");
  });
});
