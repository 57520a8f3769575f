/**
 * Webhook notifier: POSTs the summary as JSON with a Slack-compatible `text` field.
 * The URL usually embeds a token, so it is Redacted and never logged; errors name the
 * notifier, not the URL.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { headline, Notifier, NotifyError } from "../Notifier.ts"

export interface WebhookConfig {
  readonly url: Redacted.Redacted<string>
  readonly timeout: Duration.Input
}

export const layer = (config: WebhookConfig): Layer.Layer<Notifier, never, HttpClient.HttpClient> =>
  Layer.effect(Notifier)(
    Effect.gen(function*() {
      const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
      return Notifier.of({
        notify: (summary) =>
          HttpClientRequest.post(Redacted.value(config.url)).pipe(
            HttpClientRequest.bodyJsonUnsafe({ text: headline(summary), ...summary }),
            client.execute,
            Effect.timeout(config.timeout),
            Effect.asVoid,
            Effect.mapError((e) => new NotifyError({ notifier: "webhook", message: describe(e) }))
          )
      })
    })
  )

/** The error's kind and status, never the request (its URL holds the secret). */
const describe = (e: { readonly _tag?: string; readonly message?: string }): string => {
  const tag = e._tag ?? "Error"
  const status = (e as { readonly response?: { readonly status?: number } }).response?.status
  return status === undefined ? tag : `${tag}: HTTP ${status}`
}
