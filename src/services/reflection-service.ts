import type { DescFile, DescMessage, DescService } from "@bufbuild/protobuf";
import { toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1Alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** Options of `createReflectionService`: the files whose descriptors it serves. */
export interface ReflectionServiceOptions {
  /** Services to advertise; both reflection services are added automatically. */
  services: readonly DescService[];
}

/** A reflection request as both protocol versions shape it. */
interface ReflectionRequest {
  host: string;
  messageRequest: { case: string | undefined; value?: unknown };
}

/** gRPC status codes used in error_response (reflection carries them as int32). */
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

/**
 * Registers `grpc.reflection.v1.ServerReflection` and its v1alpha twin (grpcurl
 * asks for v1alpha, `buf curl` for v1) from the descriptors protobuf-es keeps for
 * every generated file. Answers list_services, file_by_filename and
 * file_containing_symbol with transitive dependencies (well-known types
 * included), all_extension_numbers_of_type (always empty: inferd defines no
 * extensions), and NOT_FOUND in error_response for anything unknown.
 */
export function createReflectionService(
  options: ReflectionServiceOptions,
): (router: ConnectRouter) => void {
  const services = [...options.services, ReflectionV1, ReflectionV1Alpha];
  const index = indexFiles(services.map((s) => s.file));
  const serviceNames = [...new Set(services.map((s) => s.typeName))];
  const answer = (request: ReflectionRequest) => respond(request, index, serviceNames);
  return (router) => {
    // Two registrations of one implementation: the versions differ only in package name.
    router.service(ReflectionV1, {
      async *serverReflectionInfo(requests) {
        for await (const r of requests) {
          yield { validHost: r.host, originalRequest: r, messageResponse: answer(r) };
        }
      },
    });
    router.service(ReflectionV1Alpha, {
      async *serverReflectionInfo(requests) {
        for await (const r of requests) {
          yield { validHost: r.host, originalRequest: r, messageResponse: answer(r) };
        }
      },
    });
  };
}

interface FileIndex {
  byName: Map<string, DescFile>;
  bySymbol: Map<string, DescFile>;
}

function respond(request: ReflectionRequest, index: FileIndex, serviceNames: readonly string[]) {
  const { case: kind, value } = request.messageRequest;
  const name = typeof value === "string" ? value : "";
  switch (kind) {
    case "listServices":
      return {
        case: "listServicesResponse" as const,
        value: { service: serviceNames.map((n) => ({ name: n })) },
      };
    case "fileByFilename":
    case "fileContainingSymbol": {
      const file = (kind === "fileByFilename" ? index.byName : index.bySymbol).get(name);
      if (file === undefined) {
        const what = kind === "fileByFilename" ? "file" : "symbol";
        return errorResponse(NOT_FOUND, `${what} "${name}" not found`);
      }
      return {
        case: "fileDescriptorResponse" as const,
        value: {
          fileDescriptorProto: withDependencies(file).map((f) =>
            toBinary(FileDescriptorProtoSchema, f.proto),
          ),
        },
      };
    }
    case "allExtensionNumbersOfType":
      if (!index.bySymbol.has(name)) return errorResponse(NOT_FOUND, `type "${name}" not found`);
      return {
        case: "allExtensionNumbersResponse" as const,
        value: { baseTypeName: name, extensionNumber: [] },
      };
    case "fileContainingExtension":
      return errorResponse(NOT_FOUND, "this server defines no extensions");
    default:
      return errorResponse(INVALID_ARGUMENT, "the request names no reflection query");
  }
}

function errorResponse(errorCode: number, errorMessage: string) {
  return { case: "errorResponse" as const, value: { errorCode, errorMessage } };
}

/** The file first, then every file it imports, transitively, each once. */
function withDependencies(file: DescFile): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (seen.has(f.proto.name)) return;
    seen.set(f.proto.name, f);
    for (const dep of f.dependencies) visit(dep);
  };
  visit(file);
  return [...seen.values()];
}

/** Maps file names and fully qualified symbols (services, methods, types, enums) to files. */
function indexFiles(roots: readonly DescFile[]): FileIndex {
  const index: FileIndex = { byName: new Map(), bySymbol: new Map() };
  const addMessage = (file: DescFile, message: DescMessage) => {
    index.bySymbol.set(message.typeName, file);
    for (const nested of message.nestedMessages) addMessage(file, nested);
    for (const e of message.nestedEnums) index.bySymbol.set(e.typeName, file);
    for (const x of message.nestedExtensions) index.bySymbol.set(x.typeName, file);
  };
  for (const file of roots.flatMap(withDependencies)) {
    index.byName.set(file.proto.name, file);
    for (const service of file.services) {
      index.bySymbol.set(service.typeName, file);
      for (const method of service.methods)
        index.bySymbol.set(`${service.typeName}.${method.name}`, file);
    }
    for (const message of file.messages) addMessage(file, message);
    for (const e of file.enums) index.bySymbol.set(e.typeName, file);
    for (const x of file.extensions) index.bySymbol.set(x.typeName, file);
  }
  return index;
}
