/**
 * A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): `{ text, blocks? }`.
 * `text` is the whole message (what notifications and clients without blocks show); `blocks` lay
 * it out as a header and sections, and are left out when Slack's limits would refuse them (a
 * large fleet's digest), so the message still arrives as text. The URL holds the token: it comes
 * from the environment and is never in an error.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { Notifier, type NotifierShape } from "../Notifier.ts"
import { type Content, contentOf } from "./content.ts"
import { poster } from "./post.ts"

export interface SlackSettings {
  readonly name: string
  readonly url: Redacted.Redacted<string>
  readonly timeout: Duration.Duration
}

/** Slack's documented limits: blocks per message, a header's and a section's characters, a message's text. */
const SlackLimits = { blocks: 50, header: 150, section: 3000, text: 40_000 } as const

/** Slack's three control characters, escaped as it asks. */
const escape = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const cut = (text: string, limit: number): string => (text.length <= limit ? text : `${text.slice(0, limit - 1)}…`)

/** Lines packed into sections of at most `limit` characters (a longer line is cut). */
const sections = (lines: ReadonlyArray<string>, limit: number): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const line of lines.map((l) => cut(l, limit))) {
    const last = out.at(-1)
    if (last !== undefined && last.length + 1 + line.length <= limit) out[out.length - 1] = `${last}\n${line}`
    else out.push(line)
  }
  return out
}

/** The body Slack receives. */
export const slackBody = (content: Content) => {
  const text = cut(escape([content.title, ...content.lines].join("\n")), SlackLimits.text)
  const body = sections(content.lines.map(escape), SlackLimits.section)
  if (body.length + 1 > SlackLimits.blocks) return { text }
  return {
    text,
    blocks: [
      { type: "header", text: { type: "plain_text", text: cut(content.title, SlackLimits.header) } },
      ...body.map((section) => ({ type: "section", text: { type: "mrkdwn", text: section } }))
    ]
  }
}

export const make = (settings: SlackSettings): Effect.Effect<NotifierShape, never, HttpClient.HttpClient> =>
  Effect.map(poster, (post) => {
    const send = post(settings.name, settings.timeout)
    return Notifier.of({
      notify: (message) =>
        HttpClientRequest.post(Redacted.value(settings.url)).pipe(
          HttpClientRequest.bodyJsonUnsafe(slackBody(contentOf(message))),
          send
        )
    })
  })

export const layer = (settings: SlackSettings): Layer.Layer<Notifier, never, HttpClient.HttpClient> =>
  Layer.effect(Notifier)(make(settings))
