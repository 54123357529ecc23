import { create, type DescMessage, type Message } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type HandlerContext,
  type Interceptor,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import type { UnaryMethodSpec } from "./unary-method-table.js";

/** Runs one call of a unary method through the interceptors: the call's context and decoded input in, the output message out. */
export type UnaryInvoker = (context: HandlerContext, input: Message) => Promise<Message>;

/** The call's own context, riding on its request: interceptors pass requests on whole or spread. */
const CALL = Symbol("inferd.lean-path.call");
type CallRequest = UnaryRequest<DescMessage, DescMessage> & { [CALL]?: HandlerContext };

/**
 * A lean path's invoker of a unary method: what connect-es's `invokeUnaryImplementation`
 * does, with the interceptor chain built once per method rather than once per call.
 * Connect applies every interceptor factory on each call (an array copy, a reverse and a
 * closure per interceptor, and the innermost closure); the factories are pure (ours are,
 * and Connect's contract gives them nothing per call but the request), so one chain
 * serves all calls. As Connect's: the handler gets the call's context, with the
 * request's headers, signal and values if an interceptor replaced them; an output given
 * as an init object becomes a message; response headers and trailers from the chain are
 * copied onto the context's. An interceptor that builds a new request without spreading
 * the old one loses the call, which is answered Internal.
 */
export function createUnaryInvoker(
  { spec }: UnaryMethodSpec,
  interceptors: readonly Interceptor[],
): UnaryInvoker {
  const { method } = spec;
  const service = method.parent;
  const innermost = async (req: CallRequest): Promise<UnaryResponse<DescMessage, DescMessage>> => {
    const context = req[CALL];
    if (context === undefined) {
      throw new ConnectError("an interceptor dropped the call's context", Code.Internal);
    }
    const output = await spec.impl(req.message, handlerContextOf(context, req));
    return {
      stream: false,
      service,
      method,
      header: context.responseHeader,
      trailer: context.responseTrailer,
      message: create(method.output, output),
    };
  };
  let chain = innermost as (req: CallRequest) => Promise<UnaryResponse<DescMessage, DescMessage>>;
  for (let i = interceptors.length - 1; i >= 0; i--) {
    chain = (interceptors[i] as Interceptor)(chain as never) as typeof chain;
  }
  return async (context, input) => {
    const req: CallRequest = {
      stream: false,
      service,
      method,
      requestMethod: context.requestMethod,
      url: context.url,
      signal: context.signal,
      header: context.requestHeader,
      contextValues: context.values,
      message: input,
      [CALL]: context,
    };
    const res = await chain(req);
    copyHeaders(res.header, context.responseHeader);
    copyHeaders(res.trailer, context.responseTrailer);
    return res.message;
  };
}

/** The context the handler sees: the call's own unless an interceptor replaced a part. */
function handlerContextOf(context: HandlerContext, req: CallRequest): HandlerContext {
  if (
    req.header === context.requestHeader &&
    req.signal === context.signal &&
    req.contextValues === context.values
  ) {
    return context;
  }
  return {
    ...context,
    requestHeader: req.header,
    signal: req.signal,
    values: req.contextValues,
  };
}

/** Replaces `to`'s entries with `from`'s (nothing to do when they are the same object). */
function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const key of [...to.keys()]) to.delete(key);
  from.forEach((value, key) => {
    to.set(key, value);
  });
}

/**
 * {@link createUnaryInvoker} per method, built on a method's first call (the method table
 * fills as services register, after the paths are created) and kept.
 */
export function createUnaryInvokers(
  interceptors: readonly Interceptor[],
): (entry: UnaryMethodSpec) => UnaryInvoker {
  const invokers = new WeakMap<UnaryMethodSpec, UnaryInvoker>();
  return (entry) => {
    let invoker = invokers.get(entry);
    if (invoker === undefined) {
      invoker = createUnaryInvoker(entry, interceptors);
      invokers.set(entry, invoker);
    }
    return invoker;
  };
}
