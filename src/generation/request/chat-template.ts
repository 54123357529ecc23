import { Template } from "@huggingface/jinja";
import { failedPrecondition, invalidArgument } from "../../errors/inferd-error.js";
import type { TokenizerConfigJson } from "./tokenizer.js";

/** One chat turn, as OpenAI and `inferd.v1.ChatMessage` carry it. */
export interface ChatMessage {
  readonly role: string;
  readonly content: string;
}

/** Renders chat messages into the prompt text the model was trained on. */
export interface ChatTemplate {
  render(messages: readonly ChatMessage[]): string;
}

/**
 * Compiles `chat_template` from tokenizer_config.json with `@huggingface/jinja`, the
 * same engine transformers.js uses. A list of named templates picks "default".
 * Rendering passes bos_token/eos_token and `add_generation_prompt: true` (the server
 * always asks for the assistant's turn). A model without a template gets a template
 * that fails with failed_precondition, so the error surfaces per request, not at load.
 */
export function createChatTemplate(
  config: TokenizerConfigJson,
  modelName = "this model",
): ChatTemplate {
  const source = pickTemplate(config.chat_template);
  if (source === undefined) {
    return {
      render() {
        throw failedPrecondition(
          `${modelName} has no chat_template in tokenizer_config.json; send a plain prompt instead of messages`,
        );
      },
    };
  }
  let template: Template;
  try {
    template = new Template(source);
  } catch (error) {
    throw failedPrecondition(
      `${modelName}: the chat_template in tokenizer_config.json does not compile: ${(error as Error).message}`,
    );
  }
  const bos = tokenText(config.bos_token);
  const eos = tokenText(config.eos_token);
  return {
    render(messages) {
      if (messages.length === 0) throw invalidArgument("messages must not be empty");
      return template.render({
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        bos_token: bos,
        eos_token: eos,
        add_generation_prompt: true,
      });
    },
  };
}

function pickTemplate(value: TokenizerConfigJson["chat_template"]): string | undefined {
  if (typeof value === "string") return value.length > 0 ? value : undefined;
  if (Array.isArray(value))
    return value.find((t) => t.name === "default")?.template ?? value[0]?.template;
  return undefined;
}

function tokenText(value: TokenizerConfigJson["bos_token"]): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : value.content;
}
