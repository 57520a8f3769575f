/**
 * keel.yaml's `notifications:` block: the channels by name (email, ntfy, Slack, a generic
 * webhook), the routes that choose which channels hear about which accounts, and how often a
 * delivery is tried; and the dispatcher's settings from a block. Secrets (the SMTP password, URLs
 * that embed tokens) are never in the file: it names the environment variables that hold them,
 * read as redacted Config.
 *
 * ```yaml
 * notifications:
 *   channels:
 *     ops:   { kind: email, host: smtp.example.com, from: keel@example.com, to: [ops@example.com],
 *              userEnv: SMTP_USER, passwordEnv: SMTP_PASSWORD }
 *     phone: { kind: ntfy, urlEnv: NTFY_TOPIC_URL }
 *     chat:  { kind: slack, urlEnv: SLACK_WEBHOOK_URL, fleet: each }
 *   routes:
 *     - { channels: [chat] }
 *     - { channels: [phone, ops], minSeverity: error, groups: [core] }
 *   retry: { attempts: 3, delaySeconds: 2 }
 * ```
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { EnvName, knownFields, PositiveSeconds } from "../configFields.ts"
import { inConfigDir, InputFileError, readText } from "../inputs.ts"
import { secretFromEnv } from "../secrets.ts"
import { type DispatchChannel, type DispatchSettings, FleetDelivery } from "./dispatch.ts"
import * as Email from "./email.ts"
import * as Ntfy from "./ntfy.ts"
import { type Groups, Route } from "./routing.ts"
import * as Slack from "./slack.ts"
import * as Webhook from "./webhook.ts"

export const NotificationDefaults = {
  timeoutSeconds: 10,
  retry: { attempts: 3, delaySeconds: 2 },
  fleet: "digest",
  /** By how the connection is secured: submission, submissions (TLS), plain SMTP. */
  port: { starttls: 587, implicit: 465, none: 25 }
} as const

const WholeNumber = (min: number, max: number) =>
  Schema.Number.check(
    Schema.makeFilter((n: number) => Number.isSafeInteger(n) && n >= min && n <= max, {
      expected: `a whole number from ${min} to ${max}`
    })
  )

/** What every channel may say: how long one attempt may take, and what it gets in a fleet run. */
const common = {
  timeoutSeconds: Schema.optionalKey(PositiveSeconds),
  fleet: Schema.optionalKey(FleetDelivery)
}

const EmailChannel = knownFields(
  "an email channel field",
  Schema.Struct({
    kind: Schema.Literal("email"),
    host: Schema.NonEmptyString,
    port: Schema.optionalKey(WholeNumber(1, 65_535)),
    /** Default `starttls` (required: never sent in clear); `none` only for a server on the loopback interface. */
    tls: Schema.optionalKey(Email.EmailTls),
    from: Schema.NonEmptyString,
    to: Schema.NonEmptyArray(Schema.NonEmptyString),
    userEnv: Schema.optionalKey(EnvName),
    passwordEnv: Schema.optionalKey(EnvName),
    /** PEM file of a CA to trust (a server with a self-signed certificate), relative to keel.yaml. */
    caFile: Schema.optionalKey(Schema.NonEmptyString),
    ...common
  })
)

/** An ntfy tag: an emoji short code or a word (it travels in a header). */
const NtfyTag = Schema.String.check(
  Schema.makeFilter((t: string) => /^[A-Za-z0-9_+-]+$/.test(t), { expected: "letters, digits, _, + or -" })
)

const NtfyChannel = knownFields(
  "an ntfy channel field",
  Schema.Struct({
    kind: Schema.Literal("ntfy"),
    /** The topic's URL (`https://ntfy.sh/<topic>`): the topic name is the password of a public server. */
    urlEnv: EnvName,
    tokenEnv: Schema.optionalKey(EnvName),
    tags: Schema.optionalKey(Schema.Array(NtfyTag)),
    ...common
  })
)

const SlackChannel = knownFields(
  "a slack channel field",
  Schema.Struct({ kind: Schema.Literal("slack"), urlEnv: EnvName, ...common })
)

const WebhookChannel = knownFields(
  "a webhook channel field",
  Schema.Struct({ kind: Schema.Literal("webhook"), urlEnv: EnvName, ...common })
)

const channelKinds = ["email", "ntfy", "slack", "webhook"] as const

/** A channel's block: its `kind` checked first (an unknown kind is named as such), then its fields. */
export const ChannelConfig = Schema.StructWithRest(
  Schema.Struct({
    kind: Schema.Literals(channelKinds).annotate({ message: channelKinds.map((k) => JSON.stringify(k)).join(" or ") })
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
).pipe(Schema.decodeTo(Schema.Union([EmailChannel, NtfyChannel, SlackChannel, WebhookChannel])))
export type ChannelConfig = typeof ChannelConfig.Type

/** A channel's name: it appears in routes, errors and the Store's delivery records. */
const ChannelName = Schema.String.check(
  Schema.makeFilter((name: string) => /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name), {
    expected: "a channel name of letters, digits, _, . or -"
  })
)

export const Config = knownFields(
  "a notifications field",
  Schema.Struct({
    channels: Schema.Record(ChannelName, ChannelConfig),
    /** None: every channel hears about every account. */
    routes: Schema.optionalKey(Schema.Array(Route)),
    retry: Schema.optionalKey(knownFields(
      "a retry field",
      Schema.Struct({
        /** Attempts in all, the first included. */
        attempts: Schema.optionalKey(WholeNumber(1, 10)),
        /** The wait before the second attempt; each later wait doubles. */
        delaySeconds: Schema.optionalKey(PositiveSeconds)
      })
    ))
  })
)
export type Config = typeof Config.Type

/** Where the block is, for messages, and keel.yaml's groups (routes name them). */
export interface NotificationsContext {
  /** The config file. */
  readonly file: string
  /** Its folder: `caFile` is resolved against it. */
  readonly dir: string
  /** The block's path in the file, e.g. `notifications`. */
  readonly at: string
  readonly groups: Groups
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "[::1]", "localhost"])

const seconds = (s: number | undefined): Duration.Duration => Duration.seconds(s ?? NotificationDefaults.timeoutSeconds)

/** Every channel and group a route names exists. */
const checkRoutes = (config: Config, context: NotificationsContext) =>
  Effect.forEach(config.routes ?? [], (route, i) => {
    const fail = (field: string, expected: ReadonlyArray<string>, got: string) =>
      new InputFileError({
        file: context.file,
        detail: `${context.at}.routes[${i}].${field}: expected one of ${
          expected.map((e) => JSON.stringify(e)).join(", ") || "(none declared)"
        }, got ${JSON.stringify(got)}`
      })
    const channels = Object.keys(config.channels)
    const groups = Object.keys(context.groups)
    const unknownChannel = route.channels.findIndex((c) => !channels.includes(c))
    if (unknownChannel >= 0) {
      return Effect.fail(fail(`channels[${unknownChannel}]`, channels, route.channels[unknownChannel]!))
    }
    const unknownGroup = (route.groups ?? []).findIndex((g) => !groups.includes(g))
    return unknownGroup >= 0
      ? Effect.fail(fail(`groups[${unknownGroup}]`, groups, route.groups![unknownGroup]!))
      : Effect.void
  }, { discard: true })

const emailChannel = (name: string, block: typeof EmailChannel.Type, context: NotificationsContext, at: string) =>
  Effect.gen(function*() {
    const fail = (detail: string) => new InputFileError({ file: context.file, detail: `${at}.${detail}` })
    const tls = block.tls ?? "starttls"
    if (tls === "none" && !LOOPBACK.has(block.host.toLowerCase())) {
      return yield* fail(`tls: "none" sends mail and credentials in clear: only for a server on 127.0.0.1 or ::1`)
    }
    if ((block.userEnv === undefined) !== (block.passwordEnv === undefined)) {
      return yield* fail(`userEnv and passwordEnv: expected both or neither`)
    }
    const secret = (field: string, variable: string, what: string) =>
      secretFromEnv({ file: context.file, field: `${at}.${field}`, variable, what })
    const auth = block.userEnv === undefined || block.passwordEnv === undefined ? undefined : {
      user: yield* secret("userEnv", block.userEnv, "the SMTP user name"),
      password: yield* secret("passwordEnv", block.passwordEnv, "the SMTP password")
    }
    const ca = block.caFile === undefined
      ? undefined
      : yield* readText(inConfigDir(context.dir, block.caFile), (reason) => `cannot read the CA file: ${reason}`)
    const notifier = Email.make({
      name,
      host: block.host,
      port: block.port ?? NotificationDefaults.port[tls],
      tls,
      from: block.from,
      to: block.to,
      ...(auth === undefined ? {} : { auth }),
      ...(ca === undefined ? {} : { ca }),
      timeout: seconds(block.timeoutSeconds)
    })
    return { notifier, secrets: auth === undefined ? [] : [auth.password] }
  })

/** A channel that posts to a URL from the environment (ntfy with its optional token too). */
const urlChannel = (
  name: string,
  block: typeof NtfyChannel.Type | typeof SlackChannel.Type | typeof WebhookChannel.Type,
  context: NotificationsContext,
  at: string
) =>
  Effect.gen(function*() {
    const secret = (field: string, variable: string, what: string) =>
      secretFromEnv({ file: context.file, field: `${at}.${field}`, variable, what })
    const url = yield* secret("urlEnv", block.urlEnv, `the ${block.kind} URL`)
    const timeout = seconds(block.timeoutSeconds)
    if (block.kind !== "ntfy") {
      return {
        notifier: yield* (block.kind === "slack" ? Slack : Webhook).make({ name, url, timeout }),
        secrets: [url]
      }
    }
    const token = block.tokenEnv === undefined
      ? undefined
      : yield* secret("tokenEnv", block.tokenEnv, "the ntfy access token")
    const notifier = yield* Ntfy.make({
      name,
      url,
      ...(token === undefined ? {} : { token }),
      tags: block.tags ?? [],
      timeout
    })
    return { notifier, secrets: token === undefined ? [url] : [url, token] }
  })

/** A channel's notifier, and the secrets its errors must never show. */
const channelOf = (name: string, block: ChannelConfig, context: NotificationsContext) => {
  const at = `${context.at}.channels.${name}`
  return block.kind === "email" ? emailChannel(name, block, context, at) : urlChannel(name, block, context, at)
}

/**
 * The dispatcher's settings from a `notifications:` block: every route checked against the
 * channels and groups, and every channel made, its secrets read from the environment.
 */
export const dispatchSettings = (config: Config, context: NotificationsContext) =>
  Effect.gen(function*() {
    yield* checkRoutes(config, context)
    const channels: Array<DispatchChannel> = []
    for (const [name, block] of Object.entries(config.channels)) {
      const { notifier, secrets } = yield* channelOf(name, block, context)
      channels.push({ name, notifier, secrets, fleet: block.fleet ?? NotificationDefaults.fleet })
    }
    return {
      channels,
      routes: config.routes,
      groups: context.groups,
      retry: {
        attempts: config.retry?.attempts ?? NotificationDefaults.retry.attempts,
        delay: Duration.seconds(config.retry?.delaySeconds ?? NotificationDefaults.retry.delaySeconds)
      }
    } satisfies DispatchSettings
  })
