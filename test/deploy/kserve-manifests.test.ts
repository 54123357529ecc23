import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServerCommand } from "../../src/cli/server-command.js";
import { SERVER_OPTIONS, type ServerConfig } from "../../src/config/server-options.js";
import { FIXTURE_REPO } from "../helpers/fixtures.js";
import { grpcClient, grpcPredict } from "../helpers/inferd-grpc.js";
import { IRIS_SAMPLES, irisInputs } from "../helpers/iris-reference.js";
import { type RunningInferd, startInferd } from "../helpers/start-inferd.js";
import {
  InferenceServiceSchema,
  KSERVE_DIR,
  parseCliArgs,
  readYaml,
  ServingRuntimeSchema,
} from "./deploy-files.js";

const FLAGS = new Set(SERVER_OPTIONS.map((o) => o.flag));
const defaultOf = (flag: string) => SERVER_OPTIONS.find((o) => o.flag === flag)?.default;

const runtimeDocs = readYaml(join(KSERVE_DIR, "cluster-serving-runtime.yaml"));
const serviceDocs = readYaml(join(KSERVE_DIR, "inference-service.yaml"));
const runtime = ServingRuntimeSchema.parse(runtimeDocs[0]);
const isvc = InferenceServiceSchema.parse(serviceDocs[0]);
const container = runtime.spec.containers[0];
const args = parseCliArgs(container?.args ?? []);
const port = Number(args.get("port") ?? defaultOf("port"));
const model = isvc.spec.predictor.model;

/** KServe's templating of the runtime's args for `isvc`: `{{.Name}}` is its name. */
const kserveArgs = (container?.args ?? []).map((a) =>
  a.replaceAll("{{.Name}}", isvc.metadata.name),
);

/** The configuration the real `inferd` command builds from the runtime's args. */
async function configOf(argv: readonly string[]): Promise<ServerConfig> {
  let config: ServerConfig | undefined;
  const run = (parsed: ServerConfig) => {
    config = parsed;
  };
  await createServerCommand({ env: {}, run }).parseAsync(["node", "inferd", ...argv]);
  if (config === undefined) throw new Error("the command did not run");
  return config;
}

describe("deploy/kserve/cluster-serving-runtime.yaml", () => {
  it("is one ClusterServingRuntime for onnx (autoSelect) speaking v2 and grpc-v2", () => {
    expect(runtimeDocs).toHaveLength(1);
    expect(runtime.spec.supportedModelFormats).toEqual([
      expect.objectContaining({ name: "onnx", version: "1", autoSelect: true }),
    ]);
    expect(runtime.spec.protocolVersions).toEqual(["v2", "grpc-v2"]);
    expect(runtime.spec.containers.map((c) => c.name)).toEqual(["kserve-container"]);
  });

  it("passes only real flags: the repository KServe mounts, and the model named by {{.Name}}", () => {
    for (const flag of args.keys()) expect(FLAGS, `--${flag}`).toContain(flag);
    expect(args.get("model-repository")).toBe("/mnt/models");
    expect(args.get("model-name")).toBe("{{.Name}}");
  });

  it("declares one port, --port, named h2c; probes and metrics use it", () => {
    expect(container?.ports).toEqual([{ name: "h2c", containerPort: port, protocol: "TCP" }]);
    expect(container?.readinessProbe.httpGet).toEqual({ path: "/v2/health/ready", port });
    expect(container?.livenessProbe.httpGet).toEqual({ path: "/v2/health/live", port });
    expect(runtime.spec.annotations["prometheus.kserve.io/port"]).toBe(String(port));
    expect(runtime.spec.annotations["prometheus.kserve.io/path"]).toBe("/metrics");
  });

  it("drains within Kubernetes' default 30 s termination grace period", () => {
    const graceMs = Number(args.get("grace-period-ms") ?? defaultOf("grace-period-ms"));
    expect(graceMs).toBeGreaterThan(0);
    expect(graceMs).toBeLessThanOrEqual(30_000 - 5_000);
  });
});

describe("deploy/kserve/inference-service.yaml", () => {
  it("is an onnx InferenceService on the inferd runtime, a protocol it speaks, from a storage URI", () => {
    expect(serviceDocs).toHaveLength(1);
    expect(model.modelFormat.name).toBe(runtime.spec.supportedModelFormats[0]?.name);
    expect(model.runtime).toBe(runtime.metadata.name);
    expect(runtime.spec.protocolVersions).toContain(model.protocolVersion);
    expect(model.storageUri).toMatch(/^(pvc|s3|gs|https?):\/\/./);
    expect(model.readinessProbe).toEqual(container?.readinessProbe);
    expect(model.livenessProbe).toEqual(container?.livenessProbe);
  });
});

describe("the runtime's args on the real server, /mnt/models holding iris's model.onnx", () => {
  let inferd: RunningInferd | undefined;
  let config: ServerConfig | undefined;
  beforeAll(async () => {
    config = await configOf(kserveArgs);
    // A temp folder stands for /mnt/models, and a free loopback port for --port: the
    // rest of the configuration, the model name included, is what the args say.
    inferd = await startInferd({
      models: [],
      prepare: (repo) =>
        copyFile(join(FIXTURE_REPO, "iris", "2", "model.onnx"), join(repo, "model.onnx")),
      config: { ...config, port: 0, host: "127.0.0.1", logLevel: "silent" },
    });
  });
  afterAll(async () => {
    await inferd?.close();
  });

  it("build a configuration serving the InferenceService's name from /mnt/models on --port", () => {
    expect(config).toMatchObject({
      modelRepository: "/mnt/models",
      modelName: isvc.metadata.name,
      port,
    });
  });

  it("serve Predict under the InferenceService's name", async () => {
    const client = grpcClient(inferd?.port ?? 0);
    try {
      const res = await grpcPredict(client, {
        model: isvc.metadata.name,
        inputs: irisInputs(IRIS_SAMPLES),
      });
      expect([res.model, res.version]).toEqual([isvc.metadata.name, 1]);
    } finally {
      client.close();
    }
  });

  // Needs the Open Inference Protocol REST routes (issue 15, built beside this change).
  it("answer 200 on the probes' paths once the model is ready", async () => {
    for (const probe of [container?.readinessProbe, container?.livenessProbe]) {
      const res = await fetch(`${inferd?.baseUrl}${probe?.httpGet.path}`);
      expect(res.status, probe?.httpGet.path).toBe(200);
    }
  });
});
