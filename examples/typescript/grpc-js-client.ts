// Calls inferd with @grpc/grpc-js (HTTP/2, the classic gRPC stack) and protobuf-es
// (de)serializers from the generated code, and prints what came back as JSON.
//
//   npx tsx examples/typescript/grpc-js-client.ts [localhost:8080]
import {
  create,
  type DescMessage,
  type DescMethod,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { InferenceService, ModelService } from "../../src/index.js";

const target = (process.argv[2] ?? process.env.INFERD_URL ?? "localhost:8080").replace(
  /^https?:\/\//,
  "",
);
const client = new grpc.Client(target, grpc.credentials.createInsecure());

/** A method descriptor from gen/ with its request and response schemas. */
type Rpc<I extends DescMessage, O extends DescMessage> = DescMethod & { input: I; output: O };

/** gRPC path and binary codecs of one method, all taken from its descriptor. */
function wire<I extends DescMessage, O extends DescMessage>(rpc: Rpc<I, O>) {
  return [
    `/${rpc.parent.typeName}/${rpc.name}`,
    (value: MessageShape<I>) => Buffer.from(toBinary(rpc.input, value)),
    (bytes: Buffer) => fromBinary(rpc.output, bytes),
  ] as const;
}

function unary<I extends DescMessage, O extends DescMessage>(
  rpc: Rpc<I, O>,
  request: MessageInitShape<I>,
): Promise<MessageShape<O>> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(...wire(rpc), create(rpc.input, request), (error, response) =>
      error || !response ? reject(error) : resolve(response),
    );
  });
}

/** Writes every request on one bidi stream, then collects the responses until the end. */
async function bidi<I extends DescMessage, O extends DescMessage>(
  rpc: Rpc<I, O>,
  requests: MessageInitShape<I>[],
): Promise<MessageShape<O>[]> {
  const call = client.makeBidiStreamRequest(...wire(rpc));
  for (const request of requests) call.write(create(rpc.input, request));
  call.end();
  const responses: MessageShape<O>[] = [];
  for await (const response of call) responses.push(response as MessageShape<O>);
  return responses;
}

const iris = (requestId: string, floatData: number[]) => ({
  request: {
    model: "iris",
    requestId,
    inputs: { features: { shape: [1, floatData.length], floatData } },
  },
});

const predict = await unary(InferenceService.method.predict, {
  model: "iris",
  inputs: { features: { shape: [1, 4], floatData: [5.1, 3.5, 1.4, 0.2] } },
});
const stream = await bidi(InferenceService.method.predictStream, [
  iris("a", [5.1, 3.5, 1.4, 0.2]),
  iris("bad", [1, 2, 3]), // shape [1, 3], the model needs [-1, 4]: an in-band INVALID_ARGUMENT
  iris("c", [6.7, 3.0, 5.2, 2.3]),
]);
const { models } = await unary(ModelService.method.listModels, {});
client.close();

console.log(
  JSON.stringify(
    {
      target,
      predict: {
        version: predict.version,
        probabilities: predict.outputs.probabilities?.floatData ?? [],
        label: predict.classifications[0]?.top[0]?.label ?? null,
      },
      stream: stream.map(({ result }) => ({
        requestId: result?.requestId,
        label:
          result?.result.case === "response"
            ? result.result.value.classifications[0]?.top[0]?.label
            : null,
        errorCode: result?.result.case === "error" ? result.result.value.code : 0,
        errorMessage: result?.result.case === "error" ? result.result.value.message : "",
      })),
      models: models.map((m) => m.name).sort(),
    },
    null,
    2,
  ),
);
