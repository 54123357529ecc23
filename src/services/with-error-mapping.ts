import type { DescService } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { abortedCallError, callErrorOf } from "./domain-signal.js";
import { type ErrorLogger, toConnectError } from "./to-connect-error.js";

type Handler = (...args: unknown[]) => unknown;

/**
 * Wraps every method of a service implementation so that whatever it throws (a
 * unary handler, or a stream while it runs) reaches Connect through
 * {@link toConnectError}: a domain error gets its code from the one table, a
 * ConnectError passes through, anything else becomes Internal and is logged.
 * Handlers just throw; this is their one error mapping.
 *
 * It is also where an aborted call gets its code: a domain cancel thrown after the
 * call's signal aborted takes the abort's own code (see `callErrorOf`: a passed
 * deadline is DeadlineExceeded, not Canceled), and a stream that ends by itself after
 * its signal aborted (a watch whose loop stops on abort) fails with that code too, so
 * that a client can tell a cut stream from a clean end.
 *
 * Why the implementation and not a Connect interceptor: the same implementation is
 * served by the Connect adapter, by the lean gRPC path (which runs the recorded
 * implementation under the server's interceptors) and, in tests, by
 * `createRouterTransport` with no interceptors at all; and a per-service
 * `interceptors` option would replace the server's, not add to them. The wrapper
 * sits innermost, so the logging and metrics interceptors see the mapped code.
 */
export function withErrorMapping<S extends DescService>(
  service: S,
  impl: ServiceImpl<S>,
  logger?: ErrorLogger,
): ServiceImpl<S> {
  const methods = impl as unknown as Record<string, unknown>;
  const mapped: Record<string, Handler> = {};
  for (const method of service.methods) {
    const handler = methods[method.localName];
    if (typeof handler !== "function") continue;
    const streams =
      method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
    mapped[method.localName] = streams
      ? mapStream((...args) => Reflect.apply(handler, impl, args), logger)
      : mapUnary(handler as Handler, impl, logger);
  }
  return mapped as unknown as ServiceImpl<S>;
}

/** The handler's signal: every kind of method takes `(request, context)`. */
const signalOf = (args: unknown[]) => (args[1] as HandlerContext | undefined)?.signal;

// Not an async function: a call that succeeds (the hot path) costs one `then` on the
// handler's promise, with no async frame, rest array or extra `await` of this layer's own.
function mapUnary(handler: Handler, impl: unknown, logger: ErrorLogger | undefined): Handler {
  return (request, context) => {
    const fail = (error: unknown): never => {
      throw toConnectError(callErrorOf(error, signalOf([request, context])), logger);
    };
    try {
      return Promise.resolve(handler.call(impl, request, context)).then(undefined, fail);
    } catch (error) {
      return Promise.reject(error).catch(fail);
    }
  };
}

function mapStream(handler: Handler, logger: ErrorLogger | undefined): Handler {
  // `yield*` forwards Connect's return() to the handler's generator.
  return async function* (...args) {
    const signal = signalOf(args);
    try {
      yield* handler(...args) as AsyncIterable<unknown>;
    } catch (error) {
      throw toConnectError(callErrorOf(error, signal), logger);
    }
    if (signal?.aborted) throw toConnectError(abortedCallError(signal), logger);
  };
}
