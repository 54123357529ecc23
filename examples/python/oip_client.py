"""Calls inferd over the Open Inference Protocol (KServe v2 / Triton gRPC, package
`inference`) from Python (grpcio) and prints what came back as JSON.

    examples/python/generate.sh                          # stubs into examples/python/gen
    /usr/bin/python3 examples/python/oip_client.py [localhost:8080]

Against the demo models (iris, multi_io, text_echo): readiness and metadata, ModelInfer
with typed contents and with raw_input_contents for each model, ModelStreamInfer with a
malformed middle message, RepositoryIndex, then multi_io unloaded and loaded again.
Raw tensors are packed with `struct` (little-endian; BYTES elements as a 4-byte length
and the bytes), so numpy is not needed. Every tensor is printed with its values and, as
"hex", the bytes raw contents carry for it. INFERD_PY_STUBS names another stub folder.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from dataclasses import dataclass
from typing import Any, Iterator, Sequence, Union

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("INFERD_PY_STUBS", os.path.join(HERE, "gen")))

import grpc  # noqa: E402
from inference import grpc_service_pb2 as pb  # noqa: E402
from inference.grpc_service_pb2_grpc import GRPCInferenceServiceStub  # noqa: E402

Value = Union[float, int, str]
# struct format of one element, for the fixed-size datatypes this example handles.
FORMATS = {"FP32": "f", "FP64": "d", "INT32": "i", "INT64": "q", "UINT8": "B", "BOOL": "?"}
# The typed InferTensorContents field of each datatype (FP16 travels only as raw).
CONTENTS = {
    "FP32": "fp32_contents", "FP64": "fp64_contents", "INT32": "int_contents",
    "INT64": "int64_contents", "UINT8": "uint_contents", "BOOL": "bool_contents",
    "BYTES": "bytes_contents",
}


@dataclass(frozen=True)
class Tensor:
    name: str
    datatype: str
    shape: list[int]
    values: list[Value]


# One request per demo model: a batch of two rows (three strings for text_echo).
EXAMPLES: dict[str, list[Tensor]] = {
    "iris": [Tensor("features", "FP32", [2, 4], [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3])],
    "multi_io": [
        Tensor("a", "FP32", [2, 3], [1.5, -2.25, 3.1, 0.1, 0.2, 0.3]),
        Tensor("b", "FP32", [2, 3], [0.5, 4.0, -1.7, 10.0, 20.0, 30.0]),
        Tensor("k", "INT64", [2, 1], [3, -2]),
    ],
    "text_echo": [Tensor("text", "BYTES", [3], ["héllo wörld", "", "inferd"])],
}


def pack(datatype: str, values: Sequence[Value]) -> bytes:
    """Raw contents of a tensor: little-endian elements; BYTES as length-prefixed UTF-8."""
    if datatype == "BYTES":
        encoded = [str(v).encode() for v in values]
        return b"".join(struct.pack("<I", len(e)) + e for e in encoded)
    return struct.pack(f"<{len(values)}{FORMATS[datatype]}", *values)


def unpack(datatype: str, raw: bytes) -> list[Value]:
    """The inverse of pack."""
    if datatype != "BYTES":
        code = FORMATS[datatype]
        return list(struct.unpack(f"<{len(raw) // struct.calcsize(code)}{code}", raw))
    values: list[Value] = []
    at = 0
    while at < len(raw):
        (size,) = struct.unpack_from("<I", raw, at)
        values.append(raw[at + 4:at + 4 + size].decode())
        at += 4 + size
    return values


def describe(name: str, datatype: str, shape: Sequence[int], values: list[Value]) -> dict[str, Any]:
    """A tensor for the JSON output: its values and, as "hex", its raw contents."""
    return {"name": name, "datatype": datatype, "shape": list(shape), "values": values,
            "hex": pack(datatype, values).hex()}


def infer_request(model: str, inputs: list[Tensor], raw: bool, request_id: str = ""
                  ) -> pb.ModelInferRequest:
    """Typed contents, or raw_input_contents for every input (the protocol allows no mix)."""
    request = pb.ModelInferRequest(model_name=model, id=request_id)
    for t in inputs:
        entry = request.inputs.add(name=t.name, datatype=t.datatype, shape=t.shape)
        if raw:
            request.raw_input_contents.append(pack(t.datatype, t.values))
        else:
            values = [str(v).encode() for v in t.values] if t.datatype == "BYTES" else t.values
            getattr(entry.contents, CONTENTS[t.datatype]).extend(values)
    return request


def outputs_of(response: pb.ModelInferResponse) -> list[dict[str, Any]]:
    """Each output from raw_output_contents (when the server sent them) or typed contents."""
    raw = response.raw_output_contents
    described = []
    for i, o in enumerate(response.outputs):
        if raw:
            values = unpack(o.datatype, raw[i])
        else:
            values = list(getattr(o.contents, CONTENTS[o.datatype]))
            if o.datatype == "BYTES":
                values = [v.decode() for v in values]
        described.append(describe(o.name, o.datatype, o.shape, values))
    return described


def model_infer(stub: GRPCInferenceServiceStub, model: str, raw: bool) -> dict[str, Any]:
    inputs = EXAMPLES[model]
    response = stub.ModelInfer(infer_request(model, inputs, raw), timeout=30)
    return {
        "version": response.model_version,
        "rawOutputs": len(response.raw_output_contents) > 0,
        "inputs": [describe(t.name, t.datatype, t.shape, t.values) for t in inputs],
        "outputs": outputs_of(response),
    }


def stream_infer(stub: GRPCInferenceServiceStub) -> list[dict[str, Any]]:
    """Three iris requests on one bidi stream; the middle one has 3 features, not 4."""
    rows = [("a", [5.1, 3.5, 1.4, 0.2]), ("bad", [1.0, 2.0, 3.0]), ("c", [6.7, 3.0, 5.2, 2.3])]
    requests: Iterator[pb.ModelInferRequest] = (
        infer_request("iris", [Tensor("features", "FP32", [1, len(f)], f)], False, i)
        for i, f in rows
    )
    return [
        {"id": m.infer_response.id, "error": m.error_message,
         "outputs": outputs_of(m.infer_response)}
        for m in stub.ModelStreamInfer(requests, timeout=30)
    ]


def health(stub: GRPCInferenceServiceStub) -> dict[str, Any]:
    models = [*EXAMPLES, "no_such_model"]
    return {
        "live": stub.ServerLive(pb.ServerLiveRequest()).live,
        "ready": stub.ServerReady(pb.ServerReadyRequest()).ready,
        "modelReady": {m: stub.ModelReady(pb.ModelReadyRequest(name=m)).ready for m in models},
    }


def tensors(metas: Sequence[pb.ModelMetadataResponse.TensorMetadata]) -> list[dict[str, Any]]:
    return [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in metas]


def metadata(stub: GRPCInferenceServiceStub) -> dict[str, Any]:
    server = stub.ServerMetadata(pb.ServerMetadataRequest())
    models = {}
    for name in EXAMPLES:
        m = stub.ModelMetadata(pb.ModelMetadataRequest(name=name))
        models[name] = {"versions": list(m.versions), "platform": m.platform,
                        "inputs": tensors(m.inputs), "outputs": tensors(m.outputs)}
    try:
        stub.ModelMetadata(pb.ModelMetadataRequest(name="no_such_model"))
        unknown = "OK"
    except grpc.RpcError as error:
        unknown = error.code().name
    return {"server": {"name": server.name, "version": server.version,
                       "extensions": list(server.extensions)},
            "models": models, "unknownModelCode": unknown}


def repository(stub: GRPCInferenceServiceStub, model: str = "multi_io") -> dict[str, Any]:
    """RepositoryIndex, then `model` unloaded and loaded again, with its readiness after each."""
    def index() -> list[dict[str, str]]:
        models = stub.RepositoryIndex(pb.RepositoryIndexRequest()).models
        return [{"name": m.name, "version": m.version, "state": m.state, "reason": m.reason}
                for m in models]

    def ready() -> bool:
        return stub.ModelReady(pb.ModelReadyRequest(name=model)).ready

    before = index()
    stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name=model), timeout=30)
    unloaded = {"ready": ready(), "index": [m for m in index() if m["name"] == model]}
    stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name=model), timeout=60)
    return {"index": before, "model": model, "afterUnload": unloaded,
            "afterLoad": {"ready": ready()}}


def main() -> None:
    target = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("INFERD_URL", "localhost:8080")
    target = target.removeprefix("http://")
    with grpc.insecure_channel(target) as channel:
        stub = GRPCInferenceServiceStub(channel)
        result = {
            "target": target,
            "health": health(stub),
            "metadata": metadata(stub),
            "infer": {m: {"typed": model_infer(stub, m, False), "raw": model_infer(stub, m, True)}
                      for m in EXAMPLES},
            "stream": stream_infer(stub),
            "repository": repository(stub),
        }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
