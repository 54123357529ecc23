import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { connectProtocolVersionError } from "../../src/connect-adapter/connect-protocol-version.js";

describe("connectProtocolVersionError", () => {
  it.each([null, "", "1"])("accepts %j (absent, empty or 1), as connect-go does", (value) => {
    expect(connectProtocolVersionError(value)).toBeUndefined();
  });

  it.each(["2", "0", "1.0", " 1", "v1"])("refuses %j with connect-go's message", (value) => {
    const error = connectProtocolVersionError(value);
    expect({ code: error?.code, message: error?.rawMessage }).toEqual({
      code: Code.InvalidArgument,
      message: `Connect-Protocol-Version must be "1": got "${value}"`,
    });
  });
});
