/**
 * The HTTP/1.1 baseline of issue 14's benchmark: `node:http`, `JSON.parse`, inline
 * `session.run` on the main thread, `JSON.stringify`. Any POST takes the Connect JSON
 * of a PredictRequest (the body a Connect JSON client sends inferd: float32 inputs by
 * name) and answers 200 with the JSON of a PredictResponse's outputs.
 *
 *   node --import tsx bench/naive-http-server.ts --port 8083 --model model.onnx
 */
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";

type JsonTensor = { shape: number[]; floatData: number[] };

const { values } = parseArgs({ options: { port: { type: "string" }, model: { type: "string" } } });
const session = await ort.InferenceSession.create(values.model ?? "model.onnx");

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", async () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        model: string;
        inputs: Record<string, JsonTensor>;
      };
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(body.inputs)) {
        feeds[name] = new ort.Tensor("float32", Float32Array.from(t.floatData), t.shape);
      }
      const outputs: Record<string, unknown> = {};
      for (const [name, t] of Object.entries(await session.run(feeds))) {
        const floatData = Array.from(t.data as Float32Array);
        outputs[name] = { dtype: "DATA_TYPE_FLOAT32", shape: t.dims, floatData };
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ model: body.model, version: 1, outputs }));
    } catch (error) {
      res.writeHead(400).end((error as Error).message);
    }
  });
});
server.listen(Number(values.port), "127.0.0.1", () => process.stdout.write("ready\n"));
