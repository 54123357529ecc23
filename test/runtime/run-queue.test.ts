import { describe, expect, it } from "vitest";
import { isInferdError } from "../../src/errors/inferd-error.js";
import { RunQueue, settleRun } from "../../src/runtime/run-queue.js";

const kindOf = (error: unknown) => (isInferdError(error) ? error.kind : String(error));

describe("RunQueue", () => {
  it("takes a run aborted while queued out of the queue, unrun, and tells the owner", async () => {
    let told = 0;
    const queue = new RunQueue(() => told++);
    const controller = new AbortController();
    const run = queue.enqueue({}, [], controller.signal).catch(kindOf);
    expect(queue.length).toBe(1);
    controller.abort();
    expect(await run).toBe("canceled");
    expect(queue.length).toBe(0);
    expect(queue.take()).toBeUndefined();
    expect(told).toBe(1);
  });

  it("rejects a run aborted while running at once, and drops its later result", async () => {
    const queue = new RunQueue(() => {});
    const controller = new AbortController();
    const run = queue.enqueue({}, ["y"], controller.signal).catch(kindOf);
    const job = queue.take();
    expect(job?.outputNames).toEqual(["y"]);
    controller.abort(new DOMException("late", "TimeoutError"));
    expect(await run).toBe("deadline_exceeded");
    if (job) settleRun(job, () => job.resolve({}));
    expect(await run).toBe("deadline_exceeded");
  });

  it("answers a taken run through settleRun, in arrival order, and fails all that wait", async () => {
    const queue = new RunQueue(() => {});
    const first = queue.enqueue({}, ["a"], undefined);
    const second = queue.enqueue({}, ["b"], undefined).catch((e: Error) => e.message);
    const job = queue.take();
    expect(job?.outputNames).toEqual(["a"]);
    if (job) settleRun(job, () => job.resolve({}));
    await expect(first).resolves.toEqual({});
    queue.rejectAll(new Error("no session left"));
    expect(await second).toBe("no session left");
    expect(queue.length).toBe(0);
  });
});

describe("RunQueue with the caller handling aborts", () => {
  it("adds no listener, and rejects a run aborted while queued when it reaches the head", async () => {
    let told = 0;
    const queue = new RunQueue(() => told++);
    const controller = new AbortController();
    const aborted = queue.enqueue({}, ["a"], controller.signal, true).catch(kindOf);
    const next = queue.enqueue({}, ["b"], undefined, true);
    controller.abort();
    // Nothing listened: still queued until a session looks.
    expect(queue.length).toBe(2);
    expect(queue.take()?.outputNames).toEqual(["b"]);
    expect(await aborted).toBe("canceled");
    expect(told).toBe(1);
    expect(queue.length).toBe(0);
    void next;
  });

  it("rejects a taken run aborted before a crash when requeued, and keeps the live ones", async () => {
    const queue = new RunQueue(() => {});
    const controller = new AbortController();
    const aborted = queue.enqueue({}, ["a"], controller.signal, true).catch(kindOf);
    queue.enqueue({}, ["b"], undefined, true);
    const jobs = [queue.take(), queue.take()].filter((job) => job !== undefined);
    controller.abort();
    queue.requeue(jobs);
    expect(await aborted).toBe("canceled");
    expect(queue.length).toBe(1);
    expect(queue.peek()?.outputNames).toEqual(["b"]);
  });
});
