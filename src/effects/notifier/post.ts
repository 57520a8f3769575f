/**
 * A POST to a channel's URL (ntfy, Slack, the generic webhook), answered with 2xx within the
 * timeout. The URL usually embeds a token, so it is Redacted and never in an error: errors say the
 * kind and the status (`StatusCodeError: HTTP 500`, `no answer within 10s`).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import { NotifyError } from "../Notifier.ts"

/** The error's kind and status (`StatusCodeError: HTTP 500`), never the request (its URL holds the secret). */
const describe = (e: HttpClientError.HttpClientError): string => {
  const status = e.response?.status
  return status === undefined ? e.reason._tag : `${e.reason._tag}: HTTP ${status}`
}

/** Sends `request` with the HTTP client of the Layer; a NotifyError names `notifier` only. */
export const poster = Effect.map(
  HttpClient.HttpClient,
  (client) => (notifier: string, timeout: Duration.Duration) => (request: HttpClientRequest.HttpClientRequest) =>
    HttpClient.filterStatusOk(client).execute(request).pipe(
      Effect.mapError((e) => new NotifyError({ notifier, message: describe(e) })),
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.fail(new NotifyError({ notifier, message: `no answer within ${Duration.format(timeout)}` }))
      }),
      Effect.asVoid
    )
)
