import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { SERVER_OPTIONS } from "../../src/config/server-options.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import {
  DeploymentSchema,
  loadKustomization,
  parseCliArgs,
  runtimeStageInstructions,
} from "./deploy-files.js";

const FLAGS = new Set(SERVER_OPTIONS.map((o) => o.flag));
const defaultOf = (flag: string) => SERVER_OPTIONS.find((o) => o.flag === flag)?.default;

const manifests = loadKustomization();
const deployment = DeploymentSchema.parse(manifests.get("Deployment"));
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const args = parseCliArgs(container?.args ?? []);
const port = Number(args.get("port") ?? defaultOf("port"));

const docker = runtimeStageInstructions();
const dockerArgs = (keyword: string) =>
  docker.filter((i) => i.keyword === keyword).map((i) => i.rest);
const cmdArgs = parseCliArgs(JSON.parse(dockerArgs("CMD")[0] ?? "[]") as string[]);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.server.shutdown();
});

/** What a real inferd server answers on `path` (fake registry, every model ready). */
const statusOf = async (path: string) => (await fetch(`${server.baseUrl}${path}`)).status;

describe("deploy/kubernetes", () => {
  it("has exactly the kinds kustomization.yaml lists", () => {
    expect([...manifests.keys()].sort()).toEqual(
      [
        "Deployment",
        "HorizontalPodAutoscaler",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
        "Service",
      ].sort(),
    );
  });

  it("passes only real CLI flags, and the port every probe and the Service use", async () => {
    expect(pod.containers).toHaveLength(1);
    for (const flag of args.keys()) expect(FLAGS, `--${flag}`).toContain(flag);
    expect(container?.ports.map((p) => p.containerPort)).toEqual([port]);
    const probes = [container?.readinessProbe, container?.livenessProbe];
    for (const probe of probes) expect(probe?.httpGet?.port ?? probe?.grpc?.port).toBe(port);
    const service = z
      .object({
        spec: z.object({
          selector: z.record(z.string(), z.string()),
          ports: z.array(z.object({ targetPort: z.number(), appProtocol: z.string() })),
        }),
      })
      .parse(manifests.get("Service"));
    expect(service.spec.ports).toEqual([
      expect.objectContaining({ targetPort: port, appProtocol: "kubernetes.io/h2c" }),
    ]);
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
  });

  it("probes paths the server serves: readiness /readyz, liveness /healthz", async () => {
    expect(container?.readinessProbe.httpGet?.path).toBe("/readyz");
    expect(container?.livenessProbe.httpGet?.path).toBe("/healthz");
    expect(await statusOf("/readyz")).toBe(200);
    expect(await statusOf("/healthz")).toBe(200);
    expect(await statusOf("/no-such-probe")).toBe(404);
  });

  it("gives the pod more time to stop than preStop plus the server's drain", () => {
    const graceMs = Number(args.get("grace-period-ms") ?? defaultOf("grace-period-ms"));
    const sleep = container?.lifecycle.preStop.exec.command ?? [];
    expect(sleep[0]).toBe("sleep");
    const preStopMs = Number(sleep[1]) * 1000;
    expect(preStopMs).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(preStopMs + graceMs);
  });

  it("mounts the models where --model-repository points, and scales on CPU requests", () => {
    const repository = args.get("model-repository");
    expect(container?.volumeMounts.map((m) => m.mountPath)).toContain(repository);
    expect(repository).toBe(cmdArgs.get("model-repository"));
    const hpa = z
      .object({
        apiVersion: z.literal("autoscaling/v2"),
        spec: z.object({
          scaleTargetRef: z.object({ apiVersion: z.string(), kind: z.string(), name: z.string() }),
          minReplicas: z.number(),
          metrics: z.array(z.object({ resource: z.object({ name: z.string() }) })),
        }),
      })
      .parse(manifests.get("HorizontalPodAutoscaler"));
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: deployment.metadata.name,
    });
    expect(hpa.spec.metrics.map((m) => m.resource.name)).toEqual(["cpu"]);
    expect(container?.resources.requests.cpu).toBeTruthy();
    const pdb = z
      .object({
        spec: z.object({
          maxUnavailable: z.number(),
          selector: z.object({ matchLabels: z.record(z.string(), z.string()) }),
        }),
      })
      .parse(manifests.get("PodDisruptionBudget"));
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable).toBeLessThan(hpa.spec.minReplicas);
  });
});

describe("Dockerfile (runtime stage)", () => {
  it("runs node:20-slim as a non-root user with real flags, exposing the --port", () => {
    expect(docker[0]?.rest).toMatch(/^(\$\{NODE_IMAGE\}|node:20-slim) AS runtime$/);
    const user = dockerArgs("USER")[0] ?? "root";
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    for (const flag of cmdArgs.keys()) expect(FLAGS, `--${flag}`).toContain(flag);
    expect(dockerArgs("EXPOSE")).toEqual([String(cmdArgs.get("port"))]);
    expect(Number(cmdArgs.get("port"))).toBe(port);
    expect(dockerArgs("STOPSIGNAL")).toEqual(["SIGTERM"]);
  });

  it("HEALTHCHECK asks /healthz on the exposed port, and its script works against a server", async () => {
    const check = dockerArgs("HEALTHCHECK")[0] ?? "";
    const command = JSON.parse(check.slice(check.indexOf("CMD ") + 4)) as string[];
    const script = command[2] ?? "";
    expect(command.slice(0, 2)).toEqual(["node", "-e"]);
    expect(script).toContain(`http://127.0.0.1:${cmdArgs.get("port")}/healthz`);
    const run = (url: string) =>
      new Promise<number>((resolve) => {
        const patched = script.replace(/http:\/\/127\.0\.0\.1:\d+\/healthz/, url);
        execFile(process.execPath, ["-e", patched], (error) =>
          resolve(error ? Number(error.code) : 0),
        );
      });
    expect(await run(`${server.baseUrl}/healthz`)).toBe(0);
    expect(await run(`${server.baseUrl}/no-such-probe`)).toBe(1);
  });
});
