import { type ChildProcess, spawn } from "node:child_process";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  PredictStreamRequestSchema,
  type PredictStreamResponse,
  PredictStreamResponseSchema,
} from "../../gen/inferd/v1/inference_pb.js";
import { REPEATED_SIGNAL_WINDOW_MS } from "../../src/cli/main.js";
import { REPO_ROOT } from "../examples/run-example.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import { grpcClient, INFERENCE_SERVICE } from "../helpers/inferd-grpc.js";
import { irisInputs } from "../helpers/iris-reference.js";

/** One JSON log line of the child. */
type LogLine = { msg?: string; port?: number };

/** `inferd` as its own process (node with tsx's loader: no tsx parent that relays signals). */
function startInferd(): {
  child: ChildProcess;
  lines: LogLine[];
  logged: (msg: string) => Promise<LogLine>;
} {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/cli/main.ts",
      ...["--port", "0", "--host", "127.0.0.1", "--log-level", "info"],
      ...["--model-repository", FIXTURE_REPO, "--model-control-mode", "explicit"],
      ...["--load-model", "iris", "--grace-period-ms", "60000"],
    ],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines: LogLine[] = [];
  const waiters: (() => void)[] = [];
  let rest = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const parts = (rest + chunk.toString("utf8")).split("\n");
    rest = parts.pop() ?? "";
    for (const part of parts) lines.push(JSON.parse(part) as LogLine);
    for (const wake of waiters.splice(0)) wake();
  });
  child.once("exit", () => {
    for (const wake of waiters.splice(0)) wake();
  });
  const logged = async (msg: string): Promise<LogLine> => {
    for (;;) {
      const line = lines.find((l) => l.msg === msg);
      if (line) return line;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`inferd exited (${child.exitCode ?? child.signalCode}) before "${msg}"`);
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { child, lines, logged };
}

/** A PredictStream to iris that stays open until `call.end()`; `send` resolves on the next answer. */
function openPredictStream(port: number) {
  const client = grpcClient(port);
  const call = client.makeBidiStreamRequest(
    `${INFERENCE_SERVICE}/PredictStream`,
    (m: Uint8Array) => Buffer.from(m),
    (b: Buffer) => fromBinary(PredictStreamResponseSchema, b),
  );
  const got: PredictStreamResponse[] = [];
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  call.on("data", (r: PredictStreamResponse) => got.push(r));
  call.on("error", () => {});
  const send = (requestId: string) => {
    const request = { model: "iris", requestId, inputs: irisInputs([[5.1, 3.5, 1.4, 0.2]]) };
    call.write(
      toBinary(PredictStreamRequestSchema, create(PredictStreamRequestSchema, { request })),
    );
    return new Promise((resolve) => call.once("data", resolve));
  };
  return { client, call, send, got, ended };
}

let running: ChildProcess | undefined;
afterEach(() => {
  if (running?.exitCode === null) running.kill("SIGKILL");
});

describe("inferd under signals", () => {
  it("drains when SIGTERM comes twice at once (npm start under a process-group SIGTERM)", async () => {
    const { child, lines, logged } = startInferd();
    running = child;
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const { port } = await logged("inferd listening");
    await logged("model version ready");
    const { client, call, send, got, ended } = openPredictStream(Number(port));
    await send("before");

    child.kill("SIGTERM");
    // Sent back to back, the kernel may merge the two: the second follows the first's receipt.
    await logged("received signal, draining");
    child.kill("SIGTERM");
    await logged("signal repeated within 1 s of the first, still draining");
    // The stream opened before the drain is still served, then ends cleanly.
    await send("during");
    call.end();
    expect((await ended).code).toBe(0);
    expect(got.map((r) => r.result?.requestId)).toEqual(["before", "during"]);
    expect(await exited).toBe(0);
    expect(lines.map((l) => l.msg)).toContain("inferd stopped");
    client.close();
  }, 60_000);

  it("still exits at once with status 1 on a second signal after the window", async () => {
    const { child, logged } = startInferd();
    running = child;
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const { port } = await logged("inferd listening");
    await logged("model version ready");
    // An open stream keeps the drain waiting for its 60 s grace period.
    const { client, send } = openPredictStream(Number(port));
    await send("before");
    child.kill("SIGTERM");
    await logged("received signal, draining");
    await new Promise((resolve) => setTimeout(resolve, REPEATED_SIGNAL_WINDOW_MS + 200));
    child.kill("SIGTERM");
    expect(await exited).toBe(1);
    client.close();
  }, 60_000);
});
