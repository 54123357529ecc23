import { ConnectError } from "@connectrpc/connect";

/** The ConnectError a call failed with; throws if it succeeded. */
export async function connectErrorOf(promise: Promise<unknown>): Promise<ConnectError> {
  const outcome = await promise.then(
    () => new Error("expected the call to fail"),
    (e: unknown) => ConnectError.from(e),
  );
  if (!(outcome instanceof ConnectError)) throw outcome;
  return outcome;
}
