import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { raceAbort } from "../../src/abort/race-abort.js";

const listeners = (signal: AbortSignal) => getEventListeners(signal, "abort").length;

describe("raceAbort", () => {
  it("returns the promise itself without a signal", () => {
    const promise = Promise.resolve(1);
    expect(raceAbort(promise, undefined)).toBe(promise);
  });

  it("settles like the promise when the signal does not abort", async () => {
    const controller = new AbortController();
    await expect(raceAbort(Promise.resolve("value"), controller.signal)).resolves.toBe("value");
    const failure = new Error("failed");
    await expect(raceAbort(Promise.reject(failure), controller.signal)).rejects.toBe(failure);
    expect(listeners(controller.signal)).toBe(0);
  });

  it("rejects with the signal's reason by default when it aborts first", async () => {
    const controller = new AbortController();
    const race = raceAbort(new Promise<never>(() => {}), controller.signal);
    const reason = new Error("cut off");
    controller.abort(reason);
    await expect(race).rejects.toBe(reason);
    expect(listeners(controller.signal)).toBe(0);
  });

  it("rejects with the mapped error, also for an already aborted signal", async () => {
    const controller = new AbortController();
    controller.abort("why");
    const race = raceAbort(Promise.resolve(1), controller.signal, (s) => new Error(`${s.reason}`));
    await expect(race).rejects.toThrow("why");
  });

  it("handles the abandoned promise's later rejection", async () => {
    const controller = new AbortController();
    controller.abort();
    let reject: (error: Error) => void = () => {};
    const abandoned = new Promise<never>((_, r) => (reject = r));
    await expect(raceAbort(abandoned, controller.signal)).rejects.toMatchObject({
      name: "AbortError",
    });
    reject(new Error("late"));
    // An unhandled rejection would fail the run; give it a turn to surface.
    await new Promise((resolve) => setTimeout(resolve, 0));
  });

  it("removes its listener once the promise settles", async () => {
    const controller = new AbortController();
    const races = Array.from({ length: 5 }, (_, i) =>
      raceAbort(Promise.resolve(i), controller.signal),
    );
    await Promise.all(races);
    expect(listeners(controller.signal)).toBe(0);
  });
});
