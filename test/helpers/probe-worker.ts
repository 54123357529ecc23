/**
 * Worker-thread prober for tests that measure how long the server makes small calls
 * wait: it times `GET /healthz` and a one-row Connect JSON Predict on iris, each in a
 * loop, from its own event loop, so that a stalled server loop shows as the calls'
 * latency and not as missing samples. Protocol: workerData {@link ProbePlan}; posts
 * "ready" after one call of each, probes from "start" until "stop", then posts a
 * {@link ProbeResult}.
 */
import { Agent, request } from "node:http";
import { parentPort, workerData } from "node:worker_threads";

export interface ProbePlan {
  /** 127.0.0.1 port of the server. */
  readonly port: number;
}

export interface ProbeResult {
  /** Milliseconds per call, in order. */
  readonly healthMs: number[];
  readonly predictMs: number[];
  /** Calls that did not answer 200, with their status and body. */
  readonly errors: string[];
}

const { port } = workerData as ProbePlan;
const agent = new Agent({ keepAlive: true, maxSockets: 2 });
const PREDICT = JSON.stringify({
  model: "iris",
  inputs: {
    features: { dtype: "DATA_TYPE_FLOAT32", shape: [1, 4], floatData: [5.1, 3.5, 1.4, 0.2] },
  },
});
const errors: string[] = [];
let stopped = false;

function call(method: string, path: string, body?: string): Promise<void> {
  return new Promise((resolve) => {
    const headers = body === undefined ? {} : { "content-type": "application/json" };
    const req = request({ host: "127.0.0.1", port, method, path, agent, headers }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => {
        text += c.toString();
      });
      res.on("end", () => {
        if (res.statusCode !== 200) errors.push(`${path} ${res.statusCode} ${text.slice(0, 200)}`);
        resolve();
      });
    });
    req.on("error", (error) => {
      errors.push(`${path} ${error.message}`);
      resolve();
    });
    req.end(body);
  });
}

const health = () => call("GET", "/healthz");
const predict = () => call("POST", "/inferd.v1.InferenceService/Predict", PREDICT);

async function probe(fn: () => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  while (!stopped) {
    const start = performance.now();
    await fn();
    latencies.push(performance.now() - start);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return latencies;
}

await Promise.all([health(), predict()]);
parentPort?.once("message", () => {
  const runs = Promise.all([probe(health), probe(predict)]);
  parentPort?.once("message", () => {
    stopped = true;
    void runs.then(([healthMs, predictMs]) => {
      agent.destroy();
      parentPort?.postMessage({ healthMs, predictMs, errors } satisfies ProbeResult);
    });
  });
});
parentPort?.postMessage("ready");
