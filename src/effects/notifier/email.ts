/**
 * Email over SMTP (nodemailer): the title as subject, the lines as plain text, to every address
 * of `to`. STARTTLS is required by default, so a server that does not offer it is an error, not
 * a message sent in clear; `none` is only for a test server on the loopback interface (config.ts
 * refuses it elsewhere). The password is Redacted until the transport is made, and errors say
 * what failed (`EAUTH: Invalid login: 535 …`), never the credentials.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import nodemailer from "nodemailer"
import { type Message, Notifier, type NotifierShape, NotifyError } from "../Notifier.ts"
import { contentOf } from "./content.ts"

/** How the connection is secured: STARTTLS on a plain port, TLS from the start, or none (loopback only). */
export const EmailTls = Schema.Literals(["starttls", "implicit", "none"])
export type EmailTls = typeof EmailTls.Type

export interface EmailSettings {
  readonly name: string
  readonly host: string
  readonly port: number
  readonly tls: EmailTls
  readonly from: string
  readonly to: ReadonlyArray<string>
  readonly auth?: { readonly user: Redacted.Redacted<string>; readonly password: Redacted.Redacted<string> }
  /** PEM certificates to trust besides the system's (a server with its own CA). */
  readonly ca?: string
  /** Connecting, the greeting, each reply, and the whole send. */
  readonly timeout: Duration.Duration
}

const transportOf = (settings: EmailSettings) => {
  const millis = Duration.toMillis(settings.timeout)
  return nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.tls === "implicit",
    requireTLS: settings.tls === "starttls",
    ignoreTLS: settings.tls === "none",
    connectionTimeout: millis,
    greetingTimeout: millis,
    socketTimeout: millis,
    ...(settings.auth === undefined
      ? {}
      : { auth: { user: Redacted.value(settings.auth.user), pass: Redacted.value(settings.auth.password) } }),
    ...(settings.ca === undefined ? {} : { tls: { ca: [settings.ca] } })
  })
}

/** The error's code and first line (nodemailer's: `EAUTH: Invalid login: 535 …`). */
const describe = (error: unknown): string => {
  const code = (error as { readonly code?: unknown }).code
  const text = error instanceof Error ? error.message : String(error)
  const line = text.split("\n", 1)[0] ?? ""
  return typeof code === "string" ? `${code}: ${line}` : line
}

export const make = (settings: EmailSettings): NotifierShape => {
  const fail = (message: string) => new NotifyError({ notifier: settings.name, message })
  const send = (message: Message) => {
    const content = contentOf(message)
    return Effect.acquireUseRelease(
      Effect.sync(() => transportOf(settings)),
      (transport) =>
        Effect.tryPromise({
          try: () =>
            transport.sendMail({
              from: settings.from,
              to: [...settings.to],
              subject: content.title,
              text: content.lines.join("\n")
            }),
          catch: (error) => fail(describe(error))
        }),
      (transport) => Effect.sync(() => transport.close())
    )
  }
  return Notifier.of({
    notify: (message) =>
      send(message).pipe(
        Effect.timeoutOrElse({
          duration: settings.timeout,
          orElse: () => Effect.fail(fail(`no answer within ${Duration.format(settings.timeout)}`))
        }),
        Effect.asVoid
      )
  })
}

export const layer = (settings: EmailSettings): Layer.Layer<Notifier> => Layer.succeed(Notifier)(make(settings))
