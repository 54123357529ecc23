import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import {
  addAbortListener,
  createOwnedAbort,
  removeAbortListener,
} from "../../src/abort/owned-abort.js";

describe("createOwnedAbort", () => {
  it("keeps its listeners off the signal and calls them after the event, in order", () => {
    const owned = createOwnedAbort();
    const heard: string[] = [];
    owned.signal.addEventListener("abort", () => heard.push(`event:${owned.signal.reason}`));
    addAbortListener(owned.signal, () => heard.push(`a:${owned.signal.reason}`));
    const b = () => heard.push("b");
    addAbortListener(owned.signal, b);
    addAbortListener(owned.signal, () => heard.push(`c:${owned.signal.aborted}`));
    expect(getEventListeners(owned.signal, "abort")).toHaveLength(1);
    removeAbortListener(owned.signal, b);
    owned.abort("cut");
    owned.abort("again");
    expect(heard).toEqual(["event:cut", "a:cut", "c:true"]);
    expect(owned.signal.reason).toBe("cut");
  });

  it("calls a listener once, and never one added after the abort", () => {
    const owned = createOwnedAbort();
    let calls = 0;
    addAbortListener(owned.signal, () => calls++);
    owned.abort("first");
    addAbortListener(owned.signal, () => calls++);
    owned.abort("second");
    expect(calls).toBe(1);
  });

  it("still runs the other listeners when one throws, and reports the throw", async () => {
    const owned = createOwnedAbort();
    const heard: string[] = [];
    const reported = new Promise<unknown>((resolve) => {
      const listeners = process.listeners("uncaughtException");
      process.removeAllListeners("uncaughtException");
      process.once("uncaughtException", (error) => {
        for (const listener of listeners) process.on("uncaughtException", listener);
        resolve(error);
      });
    });
    addAbortListener(owned.signal, () => {
      throw new Error("listener broke");
    });
    addAbortListener(owned.signal, () => heard.push("second"));
    owned.abort("cut");
    expect(heard).toEqual(["second"]);
    expect(await reported).toMatchObject({ message: "listener broke" });
  });
});

describe("OwnedAbort.end", () => {
  it("leaves the signal unaborted when nothing listens any more", () => {
    const owned = createOwnedAbort();
    const gone = () => undefined;
    addAbortListener(owned.signal, gone);
    removeAbortListener(owned.signal, gone);
    owned.end("over");
    expect(owned.signal.aborted).toBe(false);
    // The call may still be aborted for a reason that matters later (nothing is lost).
    owned.abort("cut");
    expect(owned.signal.reason).toBe("cut");
  });

  it("aborts with its reason when a follower still listens", () => {
    const owned = createOwnedAbort();
    const heard: unknown[] = [];
    addAbortListener(owned.signal, () => heard.push(owned.signal.reason));
    owned.end("over");
    expect(owned.signal.aborted).toBe(true);
    expect(heard).toEqual(["over"]);
  });

  it("aborts when a listener sits on the signal itself (addEventListener, onabort)", () => {
    for (const listen of [
      (signal: AbortSignal, heard: string[]) =>
        signal.addEventListener("abort", () => heard.push("event")),
      (signal: AbortSignal, heard: string[]) => {
        signal.onabort = () => heard.push("onabort");
      },
    ]) {
      const owned = createOwnedAbort();
      const heard: string[] = [];
      listen(owned.signal, heard);
      owned.end("over");
      expect(owned.signal.reason).toBe("over");
      expect(heard).toHaveLength(1);
    }
  });

  it("keeps the first reason when the call had aborted already", () => {
    const owned = createOwnedAbort();
    owned.abort("deadline");
    owned.end("over");
    expect(owned.signal.reason).toBe("deadline");
  });
});

describe("addAbortListener on a signal it does not own", () => {
  it("adds and removes an EventTarget listener, called once", () => {
    const controller = new AbortController();
    let calls = 0;
    const gone = () => calls++;
    addAbortListener(controller.signal, () => calls++);
    addAbortListener(controller.signal, gone);
    removeAbortListener(controller.signal, gone);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    controller.abort();
    controller.signal.dispatchEvent(new Event("abort"));
    expect(calls).toBe(1);
  });
});
