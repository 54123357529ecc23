import { describe, expect, it } from "vitest";
import { isInferdError } from "../../../src/errors/inferd-error.js";
import { createChatTemplate } from "../../../src/generation/request/chat-template.js";

describe("createChatTemplate", () => {
  it("renders messages with bos/eos tokens and the generation prompt", () => {
    const template = createChatTemplate({
      bos_token: "<s>",
      eos_token: "</s>",
      chat_template:
        "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
    });
    expect(
      template.render([
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
      ]),
    ).toBe("<s><|system|>Be brief.</s><|user|>Hi</s><|assistant|>");
  });

  it("fails with failed_precondition when the model has no template", () => {
    let error: unknown;
    try {
      createChatTemplate({}, "stories").render([{ role: "user", content: "Hi" }]);
    } catch (e) {
      error = e;
    }
    expect(isInferdError(error) && error.kind).toBe("failed_precondition");
    expect((error as Error).message).toContain("stories has no chat_template");
  });
});
