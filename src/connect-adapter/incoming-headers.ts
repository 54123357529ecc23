import type { IncomingHttpHeaders } from "node:http";

/**
 * The first value of a Node request header. Node folds most repeated headers into
 * one string, but some (and any under HTTP/2's raw headers) arrive as a list.
 */
export function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `x-forwarded-for` as read for the call's peer (`peerFrom`): its first value. */
export function forwardedForHeader(headers: IncomingHttpHeaders): string | undefined {
  return singleHeader(headers["x-forwarded-for"]);
}

/**
 * The client's `x-request-id`, as the access log reports it for a call no
 * interceptor saw: only when sent once (a repeated header is not an id).
 */
export function requestIdHeader(headers: IncomingHttpHeaders): string | undefined {
  const requestId = headers["x-request-id"];
  return typeof requestId === "string" ? requestId : undefined;
}

/**
 * A Node request's headers as web `Headers`, for a Connect `HandlerContext`: the
 * HTTP/2 pseudo-headers left out, repeated headers appended in order.
 */
export function toWebHeaders(headers: IncomingHttpHeaders): Headers {
  const web = new Headers();
  for (const key in headers) {
    const value = headers[key];
    if (key.charCodeAt(0) === 58 /* ":" */ || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) web.append(key, v);
    else web.append(key, value);
  }
  return web;
}
