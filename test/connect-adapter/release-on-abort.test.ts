import { getEventListeners } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { releaseOnAbort } from "../../src/connect-adapter/release-on-abort.js";

const listeners = (signal: AbortSignal) => getEventListeners(signal, "abort").length;

describe("releaseOnAbort", () => {
  it("releases once when the signal aborts, and not again when called", () => {
    const controller = new AbortController();
    const release = vi.fn();
    const done = releaseOnAbort(controller.signal, release);
    expect(release).not.toHaveBeenCalled();
    controller.abort();
    expect(release).toHaveBeenCalledOnce();
    done();
    expect(release).toHaveBeenCalledOnce();
  });

  it("releases once when called, removing its listener, and not again on abort", () => {
    const controller = new AbortController();
    const release = vi.fn();
    const done = releaseOnAbort(controller.signal, release);
    expect(listeners(controller.signal)).toBe(1);
    done();
    expect(release).toHaveBeenCalledOnce();
    expect(listeners(controller.signal)).toBe(0);
    controller.abort();
    done();
    expect(release).toHaveBeenCalledOnce();
  });

  it("releases at once for a signal that has already aborted", () => {
    const release = vi.fn();
    const signal = AbortSignal.abort();
    releaseOnAbort(signal, release)();
    expect(release).toHaveBeenCalledOnce();
    expect(listeners(signal)).toBe(0);
  });

  it("frees a generator left suspended at a yield", async () => {
    const controller = new AbortController();
    const freed = vi.fn();
    async function* stream(signal: AbortSignal) {
      const done = releaseOnAbort(signal, freed);
      try {
        for (;;) yield 1;
      } finally {
        done();
      }
    }
    const it = stream(controller.signal);
    await it.next();
    controller.abort();
    expect(freed).toHaveBeenCalledOnce();
  });
});
