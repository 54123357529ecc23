import { describe, expect, it } from "vitest";
import type { TensorMap } from "../../src/runtime/model-runtime.js";
import { prepareTransfer } from "../../src/runtime/worker-protocol.js";

describe("prepareTransfer", () => {
  it("transfers whole buffers as they are and copies views into larger buffers", () => {
    const whole = new Float32Array([1, 2, 3]);
    const backing = new Int32Array([10, 20, 30, 40]);
    const view = backing.subarray(1, 3);
    const tensors: TensorMap = {
      whole: { dtype: "float32", dims: [3], data: whole },
      view: { dtype: "int32", dims: [2], data: view },
      text: { dtype: "string", dims: [2], data: ["a", "b"] },
    };
    const { tensors: out, transfer } = prepareTransfer(tensors);
    expect(out.whole?.data).toBe(whole);
    const copied = out.view?.data as Int32Array;
    expect(copied).not.toBe(view);
    expect([...copied]).toEqual([20, 30]);
    expect(out.text).toBe(tensors.text);
    expect(transfer).toEqual([whole.buffer, copied.buffer]);

    const { port1, port2 } = new MessageChannel();
    port1.postMessage(out, transfer);
    port1.close();
    port2.close();
    expect(whole.byteLength).toBe(0); // detached by the transfer
    expect([...backing]).toEqual([10, 20, 30, 40]); // the caller's larger buffer is untouched
  });

  it("lists a buffer shared by two tensors once (a duplicate would make postMessage throw)", () => {
    const data = new Uint8Array([1, 0, 1]);
    const { tensors, transfer } = prepareTransfer({
      a: { dtype: "bool", dims: [3], data },
      b: { dtype: "uint8", dims: [3], data },
    });
    expect(transfer).toHaveLength(2);
    expect(new Set(transfer).size).toBe(2);
    expect(Array.from(tensors.b?.data as Uint8Array)).toEqual([1, 0, 1]);
  });
});
