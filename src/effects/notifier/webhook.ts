/**
 * The generic webhook: POSTs the message as JSON with a Slack-compatible `text` field. A run's is
 * its summary's fields (`rebalance run --json`'s `summary`) with `text` its headline, and
 * `artifacts` / `reportUrl` when known; an account that did not start and a fleet's digest are
 * the message itself (`_tag` `NotStarted` or `Digest`) with `text` the whole message. The URL
 * usually embeds a token: it comes from the environment and is never in an error.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { headline, type Message, Notifier, type NotifierShape } from "../Notifier.ts"
import { contentOf } from "./content.ts"
import { poster } from "./post.ts"

export interface WebhookSettings {
  readonly name: string
  readonly url: Redacted.Redacted<string>
  readonly timeout: Duration.Duration
}

/** The JSON the webhook receives. */
export const webhookBody = (message: Message): Record<string, unknown> => {
  if (message._tag !== "Run") {
    const content = contentOf(message)
    return { text: [content.title, ...content.lines].join("\n"), ...message }
  }
  const { summary, ...report } = message
  const { _tag: _, ...links } = report
  return { text: headline(summary), ...summary, ...links }
}

export const make = (settings: WebhookSettings): Effect.Effect<NotifierShape, never, HttpClient.HttpClient> =>
  Effect.map(poster, (post) => {
    const send = post(settings.name, settings.timeout)
    return Notifier.of({
      notify: (message) =>
        HttpClientRequest.post(Redacted.value(settings.url)).pipe(
          HttpClientRequest.bodyJsonUnsafe(webhookBody(message)),
          send
        )
    })
  })

export const layer = (settings: WebhookSettings): Layer.Layer<Notifier, never, HttpClient.HttpClient> =>
  Layer.effect(Notifier)(make(settings))
