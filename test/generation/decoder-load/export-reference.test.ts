import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkAlongside } from "../../../src/generation/decoder-load/check-rewrite.js";
import {
  type RecordedReference,
  startExportReference,
} from "../../../src/generation/decoder-load/export-reference.js";
import { loadGraphTools } from "../../../src/generation/decoder-load/graph-tools.js";
import { stageGraph } from "../../../src/generation/decoder-load/staged-graph.js";
import { readDecoderSignature } from "../../../src/generation/engine/decoder-signature.js";
import {
  type KvCheckReference,
  recordReference,
} from "../../../src/generation/kv-rewrite/append-kv-check.js";
import { rewriteForAppendKv } from "../../../src/generation/kv-rewrite/append-kv-rewrite.js";
import {
  type GenerationConfig,
  loadGenerationConfig,
} from "../../../src/generation/request/generation-config.js";
import { createInProcessSession } from "../../../src/runtime/in-process-session.js";
import { maxAbsDiff } from "../../fixtures/ort-helpers.js";
import { withExternalData } from "../../helpers/external-data.js";
import { FIXTURE_REPO } from "../../helpers/fixtures.js";

const DIR = join(FIXTURE_REPO, "tiny_llama/1");
const OPTIONS = { intraOpThreads: 1 };
const temp = mkdtempSync(join(tmpdir(), "inferd-export-reference-"));
const PATH = join(temp, "model.onnx");
let config: GenerationConfig;

beforeAll(async () => {
  writeFileSync(
    PATH,
    withExternalData(readFileSync(join(DIR, "model.onnx")), temp, "model.onnx_data"),
  );
  config = await loadGenerationConfig(DIR);
});
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** What this thread records of the export, with weight prepacking as served. */
async function recordedHere(): Promise<RecordedReference> {
  const session = await createInProcessSession(PATH, OPTIONS);
  try {
    const signature = readDecoderSignature(session.inputs, session.outputs, config);
    return { signature, reference: await recordReference(session, signature) };
  } finally {
    await session.release();
  }
}

/** The rewrite of the export, staged beside it as a load stages it. */
async function stagedRewrite() {
  const rewritten = rewriteForAppendKv(readFileSync(PATH));
  const staged = rewritten && (await stageGraph(PATH, rewritten.bytes));
  if (!rewritten || !staged) throw new Error("the fixture's rewrite could not be staged");
  const { externalDataFiles } = rewritten;
  return { bytes: undefined, staged, externalDataFiles, float16Io: false };
}

/** `reference` with its first logit moved by 1: what a rewrite that changed the maths would meet. */
function offByOne(reference: KvCheckReference): KvCheckReference {
  const [first, ...rest] = reference.cases;
  const logits = first?.logits;
  if (!first || !logits) throw new Error("the reference has no logits");
  const data = Float32Array.from(logits.data as Float32Array);
  data[0] = (data[0] ?? 0) + 1;
  return { cases: [{ ...first, logits: { ...logits, data } }, ...rest] };
}

describe("startExportReference", () => {
  it("records in its own thread, without prepacking, what the check records here", async () => {
    const [there, here] = [
      await startExportReference({ modelPath: PATH, options: OPTIONS, config }),
      await recordedHere(),
    ];
    expect(there?.signature).toEqual(here.signature);
    expect(there?.reference.cases).toHaveLength(here.reference.cases.length);
    for (const [k, expected] of here.reference.cases.entries()) {
      const got = there?.reference.cases[k] ?? {};
      expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
      for (const [name, tensor] of Object.entries(expected)) {
        const data = got[name]?.data as Float32Array;
        expect(maxAbsDiff(data, tensor?.data as Float32Array), name).toBeLessThan(1e-6);
      }
    }
  });

  it.each([
    ["a file that is missing", join(temp, "missing.onnx")],
    ["a model that is no decoder", join(FIXTURE_REPO, "iris/1/model.onnx")],
  ])("resolves undefined, never rejects, for %s", async (_, modelPath) => {
    await expect(startExportReference({ modelPath, options: OPTIONS, config })).resolves.toBe(
      undefined,
    );
  });
});

describe("checkAlongside", () => {
  const load = async (recording: Promise<RecordedReference | undefined>) => {
    const rewrite = await stagedRewrite();
    const tools = await loadGraphTools();
    const loaded = { recording, rewrite, cached: undefined };
    const checked = await checkAlongside(tools, PATH, OPTIONS, loaded);
    await checked?.session.release();
    return { checked, stagedLeft: existsSync(rewrite.staged.path), path: rewrite.staged.path };
  };

  it("serves the rewrite that matches the recorded reference, and removes its staged file", async () => {
    const { checked, stagedLeft } = await load(Promise.resolve(await recordedHere()));
    expect(checked && { appended: checked.appended, note: checked.note }).toEqual({
      appended: true,
      note: "",
    });
    expect(checked?.signature.kvCache).toBe("concat"); // the export's, as read
    expect(stagedLeft).toBe(false);
  });

  it("serves the export, saying why, when the rewrite does not reproduce the reference", async () => {
    const here = await recordedHere();
    const wrong = { ...here, reference: offByOne(here.reference) };
    const { checked, stagedLeft } = await load(Promise.resolve(wrong));
    expect(checked && { appended: checked.appended, note: checked.note }).toEqual({
      appended: false,
      note: "the rewritten graph does not compute what the export computes",
    });
    expect(stagedLeft).toBe(false);
  });

  it("answers undefined and keeps the staged rewrite when the thread failed", async () => {
    const { checked, stagedLeft, path } = await load(Promise.resolve(undefined));
    expect(checked).toBeUndefined();
    expect(stagedLeft).toBe(true);
    rmSync(path);
  });
});
