"""Calls inferd over gRPC from Python (grpcio) and prints what came back as JSON.

    examples/python/generate.sh                       # stubs into examples/python/gen
    /usr/bin/python3 examples/python/client.py [localhost:8080]

INFERD_PY_STUBS names another stub folder (the tests generate into a temp dir).
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("INFERD_PY_STUBS", os.path.join(HERE, "gen")))

import grpc  # noqa: E402
from inferd.v1 import generation_pb2, generation_pb2_grpc  # noqa: E402
from inferd.v1 import inference_pb2, inference_pb2_grpc, tensor_pb2  # noqa: E402


def iris_request(features, request_id=""):
    """A Predict request for the iris model: one row of four float features."""
    tensor = tensor_pb2.Tensor(shape=[1, len(features)], float_data=features)
    return inference_pb2.PredictRequest(
        model="iris", request_id=request_id, inputs={"features": tensor}
    )


def predict(stub):
    res = stub.Predict(iris_request([5.1, 3.5, 1.4, 0.2]), timeout=30)
    try:
        stub.Predict(inference_pb2.PredictRequest(model="no_such_model"), timeout=30)
        unknown = "OK"
    except grpc.RpcError as error:
        unknown = error.code().name
    return {
        "version": res.version,
        "probabilities": list(res.outputs["probabilities"].float_data),
        "label": res.classifications[0].top[0].label,
        "unknownModelCode": unknown,
    }


def predict_stream(stub):
    """Three messages on one bidi stream; the middle one is malformed (3 features)."""
    rows = [("a", [5.1, 3.5, 1.4, 0.2]), ("bad", [1.0, 2.0, 3.0]), ("c", [6.7, 3.0, 5.2, 2.3])]
    requests = (inference_pb2.PredictStreamRequest(request=iris_request(f, r)) for r, f in rows)
    out = []
    for message in stub.PredictStream(requests, timeout=30):
        result = message.result
        if result.WhichOneof("result") == "error":
            out.append({"requestId": result.request_id, "errorCode": result.error.code,
                        "errorMessage": result.error.message, "label": None})
        else:
            label = result.response.classifications[0].top[0].label
            out.append({"requestId": result.request_id, "errorCode": 0, "label": label})
    return out


def generate(stub):
    """Server streaming: tokens arrive in chunks; the last message has the finish reason."""
    request = generation_pb2.GenerateRequest(
        model="tiny_llama", prompt="Once upon a time", max_tokens=8, temperature=0.0,
        ignore_eos=True,
    )
    chunks = []
    for message in stub.Generate(request, timeout=60):
        chunks.append({
            "text": message.text,
            "tokenIds": list(message.token_ids),
            "finishReason": generation_pb2.FinishReason.Name(message.finish_reason),
            "completionTokens": message.usage.completion_tokens,
        })
    try:
        list(stub.Generate(generation_pb2.GenerateRequest(model="iris", prompt="x"), timeout=30))
        wrong_kind = "OK"
    except grpc.RpcError as error:
        wrong_kind = error.code().name
    return {"chunks": chunks, "predictModelCode": wrong_kind}


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("INFERD_URL", "localhost:8080")
    target = target.removeprefix("http://")
    with grpc.insecure_channel(target) as channel:
        inference = inference_pb2_grpc.InferenceServiceStub(channel)
        generation = generation_pb2_grpc.GenerationServiceStub(channel)
        result = {
            "target": target,
            "predict": predict(inference),
            "stream": predict_stream(inference),
            "generate": generate(generation),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
