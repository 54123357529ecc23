import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { followAbort } from "../../src/abort/follow-abort.js";
import { raceSharedAbort } from "../../src/abort/race-abort.js";

describe("followAbort", () => {
  it("tells every follower the reason, through one listener, and forgets those that stopped", () => {
    const controller = new AbortController();
    const heard: string[] = [];
    followAbort(controller.signal, (r) => heard.push(`a:${String(r)}`));
    const stop = followAbort(controller.signal, (r) => heard.push(`b:${String(r)}`));
    followAbort(controller.signal, (r) => heard.push(`c:${String(r)}`));
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    stop();
    controller.abort("cut");
    expect(heard).toEqual(["a:cut", "c:cut"]);
  });

  it("calls back at once for a signal that has aborted", () => {
    const heard: unknown[] = [];
    followAbort(AbortSignal.abort("gone"), (r) => heard.push(r));
    expect(heard).toEqual(["gone"]);
  });
});

describe("raceSharedAbort", () => {
  it("settles like the promise while the signal holds, and stops following", async () => {
    const controller = new AbortController();
    await expect(raceSharedAbort(Promise.resolve(7), controller.signal)).resolves.toBe(7);
    await expect(
      raceSharedAbort(Promise.reject(new Error("no")), controller.signal),
    ).rejects.toThrow("no");
    controller.abort("late");
  });

  it("rejects with the reason when the signal aborts first; the loser's rejection is handled", async () => {
    const controller = new AbortController();
    let fail: (error: Error) => void = () => {};
    const slow = new Promise<number>((_, reject) => {
      fail = reject;
    });
    const race = raceSharedAbort(slow, controller.signal);
    controller.abort("cut off");
    await expect(race).rejects.toBe("cut off");
    fail(new Error("after the race"));
    await expect(raceSharedAbort(Promise.resolve(1), controller.signal)).rejects.toBe("cut off");
  });
});
