import { describe, expect, it } from "vitest";
import { createServerCommand } from "../../src/cli/server-command.js";
import { SERVER_OPTIONS, type ServerConfig } from "../../src/config/server-options.js";

async function parse(args: string[], env: Record<string, string> = {}) {
  let config: ServerConfig | undefined;
  let stderr = "";
  const command = createServerCommand({
    env,
    run: (c) => {
      config = c;
    },
  })
    .exitOverride()
    .configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => {} });
  const error = await command.parseAsync(["node", "inferd", ...args]).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { config, stderr, error };
}

describe("inferd command", () => {
  it("merges flags over env over defaults, repeatable flags replacing the env list", async () => {
    const { config } = await parse(
      [
        "--port",
        "9000",
        "--load-model",
        "a",
        "--load-model",
        "b",
        "--model-control-mode",
        "explicit",
      ],
      { INFERD_PORT: "7000", INFERD_LOAD_MODEL: "x,y", INFERD_GRACE_PERIOD_MS: "500" },
    );
    expect(config).toMatchObject({
      port: 9000,
      loadModel: ["a", "b"],
      modelControlMode: "explicit",
      gracePeriodMs: 500,
      host: "0.0.0.0",
    });
  });

  it("refuses a bad flag value, naming the flag", async () => {
    const { config, stderr, error } = await parse(["--max-request-bytes", "lots"]);
    expect(config).toBeUndefined();
    expect(error).toMatchObject({ code: "commander.invalidArgument" });
    expect(stderr).toContain('--max-request-bytes must be a whole number >= 1, got "lots"');
  });

  it("refuses an empty --api-key rather than starting without keys", async () => {
    const { config, stderr } = await parse(["--api-key", ""]);
    expect(config).toBeUndefined();
    expect(stderr).toContain("--api-key must be non-empty");
  });

  it("--help lists every flag with its default and env variable", () => {
    const help = createServerCommand({ env: {}, run: () => {} }).helpInformation({ error: false });
    const flat = help.replace(/\s+/g, " ");
    for (const spec of SERVER_OPTIONS) {
      expect(flat).toContain(`--${spec.flag}`);
      expect(flat).toContain(`env: ${spec.env})`);
    }
    expect(flat).toContain("(default: 8080, env: INFERD_PORT)");
    expect(flat).toContain("(default: 30000, env: INFERD_GRACE_PERIOD_MS)");
  });
});
