import type { DescService } from "@bufbuild/protobuf";
import {
  type ConnectRouter,
  createServiceImplSpec,
  type MethodImplSpec,
  type ServiceImpl,
} from "@connectrpc/connect";

/** A unary method as registered on a Connect router: its service and implementation spec. */
export interface UnaryMethodSpec {
  readonly service: DescService;
  readonly spec: MethodImplSpec & { kind: "unary" };
}

/** Unary methods by request path (`/package.Service/Method`), filled as services register. */
export interface UnaryMethodTable {
  readonly methods: ReadonlyMap<string, UnaryMethodSpec>;
  /**
   * A router that registers on `router` as usual and also records every implemented
   * unary method, so that a second path can run exactly the same implementation.
   */
  recording(router: ConnectRouter): ConnectRouter;
}

/** Creates an empty {@link UnaryMethodTable}. */
export function createUnaryMethodTable(): UnaryMethodTable {
  const methods = new Map<string, UnaryMethodSpec>();
  const record = (service: DescService, impl: Partial<ServiceImpl<DescService>>) => {
    const specs = createServiceImplSpec(service, impl).methods;
    for (const method of service.methods) {
      const spec = specs[method.localName];
      // A method left out answers Unimplemented, which only Connect's own path needs to do.
      if (spec?.kind !== "unary" || typeof impl[method.localName] !== "function") continue;
      methods.set(`/${service.typeName}/${method.name}`, { service, spec });
    }
  };
  return {
    methods,
    recording(router) {
      const recorder: ConnectRouter = {
        get handlers() {
          return router.handlers;
        },
        service(service, impl, options) {
          record(service, impl as Partial<ServiceImpl<DescService>>);
          router.service(service, impl, options);
          return recorder;
        },
        rpc(method, impl, options) {
          router.rpc(method, impl, options);
          return recorder;
        },
      };
      return recorder;
    },
  };
}
