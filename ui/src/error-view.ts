import { Code, ConnectError } from "@connectrpc/connect";
import { h } from "./dom.js";

/** An error as the page shows it: the Connect code's name and the server's message. */
export interface ShownError {
  code: string;
  message: string;
}

/**
 * Reads any thrown value as a Connect error: server errors keep their code
 * (e.g. "InvalidArgument"), network failures become "Unknown" or "Unavailable".
 */
export function describeError(error: unknown): ShownError {
  const connect = ConnectError.from(error);
  return { code: Code[connect.code], message: connect.rawMessage };
}

/** A `role="alert"` box that shows one error at a time, with its code and message. */
export interface ErrorView {
  show(error: unknown): void;
  clear(): void;
}

export function createErrorView(box: HTMLElement): ErrorView {
  const prefix = box.dataset.testid ?? "error";
  return {
    show(error) {
      const { code, message } = describeError(error);
      box.replaceChildren(
        h("strong", { testid: `${prefix}-code` }, code),
        " ",
        h("span", { testid: `${prefix}-message` }, message),
      );
      box.hidden = false;
    },
    clear() {
      box.replaceChildren();
      box.hidden = true;
    },
  };
}
