/**
 * ntfy: a POST of the lines as plain text to a topic URL, with the title, a priority from the
 * severity (3 info, 4 warning, 5 error) and tags (the severity's emoji, `keel`, and the
 * configured ones) in headers, and the report's URL to open on a click. The topic URL (a topic
 * name is a password on a public server) and the optional access token come from the environment.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { Notifier, type NotifierShape, type Severity } from "../Notifier.ts"
import { contentOf } from "./content.ts"
import { poster } from "./post.ts"

export interface NtfySettings {
  readonly name: string
  readonly url: Redacted.Redacted<string>
  /** Sent as `Authorization: Bearer …` for a topic that needs an access token. */
  readonly token?: Redacted.Redacted<string>
  readonly tags: ReadonlyArray<string>
  readonly timeout: Duration.Duration
}

const PRIORITY: Readonly<Record<Severity, string>> = { info: "3", warning: "4", error: "5" }
const SEVERITY_TAG: Readonly<Record<Severity, string>> = {
  info: "white_check_mark",
  warning: "warning",
  error: "rotating_light"
}

/** A header value as is when it is printable ASCII, else RFC 2047 encoded (ntfy decodes it). */
const headerText = (text: string): string =>
  /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text, "utf8").toString("base64")}?=`

export const make = (settings: NtfySettings): Effect.Effect<NotifierShape, never, HttpClient.HttpClient> =>
  Effect.map(poster, (post) => {
    const send = post(settings.name, settings.timeout)
    return Notifier.of({
      notify: (message) => {
        const content = contentOf(message)
        return HttpClientRequest.post(Redacted.value(settings.url)).pipe(
          HttpClientRequest.setHeaders({
            Title: headerText(content.title),
            Priority: PRIORITY[content.severity],
            Tags: [SEVERITY_TAG[content.severity], "keel", ...settings.tags].join(","),
            ...(content.reportUrl === undefined ? {} : { Click: content.reportUrl })
          }),
          settings.token === undefined ? (r) => r : HttpClientRequest.bearerToken(settings.token),
          HttpClientRequest.bodyText(content.lines.join("\n"), "text/plain; charset=utf-8"),
          send
        )
      }
    })
  })

export const layer = (settings: NtfySettings): Layer.Layer<Notifier, never, HttpClient.HttpClient> =>
  Layer.effect(Notifier)(make(settings))
