import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";

/**
 * Writes server-sent events of one JSON object each, `data: <json>\n\n`: OpenAI's
 * streams end with `data: [DONE]` (`done`), Triton's generate_stream just ends (`end`).
 */
export interface SseWriter {
  /** Writes one event; resolves once the socket takes more (backpressure). */
  send(data: unknown): Promise<void>;
  /** Writes `data: [DONE]` and ends the response. */
  done(): void;
  /** Ends the response after the last event, without a terminator event. */
  end(): void;
}

/** Sends the event-stream headers at once and returns the writer. */
export function createSseWriter(res: ServerResponse | Http2ServerResponse): SseWriter {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
  });
  const write = (text: string) => (res as ServerResponse).write(text);
  return {
    async send(data) {
      if (res.writableEnded || res.destroyed) return;
      if (write(`data: ${JSON.stringify(data)}\n\n`)) return;
      await new Promise<void>((resolve) => {
        const settle = () => {
          res.off("drain", settle);
          res.off("close", settle);
          resolve();
        };
        res.on("drain", settle);
        res.on("close", settle);
      });
    },
    done() {
      if (res.writableEnded || res.destroyed) return;
      write("data: [DONE]\n\n");
      res.end();
    },
    end() {
      if (!res.writableEnded && !res.destroyed) res.end();
    },
  };
}
