import { setImmediate as nextTurn } from "node:timers/promises";

/**
 * The items of an array as an async source that gives the event loop a turn
 * (`setImmediate`) after every `sliceSize` of them. Why: a consumer that starts work per
 * item synchronously (decode, validate, enqueue a BatchPredict item) would otherwise run
 * the whole array in one microtask chain, and no probe, small Predict or socket read
 * gets in until it ends.
 */
export async function* slicedItems<T>(items: readonly T[], sliceSize: number): AsyncGenerator<T> {
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % sliceSize === 0) await nextTurn();
    yield items[i] as T;
  }
}
