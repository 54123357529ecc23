// Calls inferd with the typed SDK over all three protocols and prints what came back
// as JSON. Outside this repository, import from "inferd" instead of "../../src/index.js".
//
//   npx tsx examples/typescript/connect-client.ts [http://localhost:8080]
import { Code, ConnectError } from "@connectrpc/connect";
import { createInferdClient, FinishReason, type InferdClientOptions } from "../../src/index.js";

const baseUrl = process.argv[2] ?? process.env.INFERD_URL ?? "http://localhost:8080";
const features = [5.1, 3.5, 1.4, 0.2];

const protocols: Record<string, InferdClientOptions> = {
  grpc: { protocol: "grpc" },
  "grpc-web": { protocol: "grpc-web", httpVersion: "1.1" },
  connect: { protocol: "connect", httpVersion: "1.1", useBinaryFormat: false },
};

/** One Predict, a streamed Generate, one ListModels and a deliberate NOT_FOUND over `options`. */
async function callAll(options: InferdClientOptions) {
  const client = createInferdClient(baseUrl, options);
  try {
    const res = await client.inference.predict({
      model: "iris",
      inputs: { features: { shape: [1, 4], floatData: features } },
    });
    const messages = [];
    for await (const m of client.generation.generate({
      model: "tiny_llama",
      prompt: "Once upon a time",
      maxTokens: 4,
      temperature: 0,
      ignoreEos: true,
    })) {
      messages.push({ tokenIds: m.tokenIds, finishReason: FinishReason[m.finishReason] });
    }
    const { models } = await client.models.listModels({});
    const missing = await client.inference.predict({ model: "no_such_model", inputs: {} }).then(
      () => "OK",
      (error: unknown) => Code[ConnectError.from(error).code],
    );
    return {
      version: res.version,
      probabilities: res.outputs.probabilities?.floatData ?? [],
      label: res.classifications[0]?.top[0]?.label ?? null,
      generate: messages,
      models: models.map((m) => m.name).sort(),
      unknownModelCode: missing,
    };
  } finally {
    client.close();
  }
}

const results: Record<string, Awaited<ReturnType<typeof callAll>>> = {};
for (const [name, options] of Object.entries(protocols)) results[name] = await callAll(options);
console.log(JSON.stringify({ baseUrl, features, results }, null, 2));
