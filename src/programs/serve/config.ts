/**
 * keel.yaml's `serve:` (the service's address, tokens, triggers and shutdown) and `schedules:`
 * (cron expressions per account, group or all). Each field is checked when the file is read;
 * what needs the rest of the file (a schedule's accounts, its calendar) when `rebalance serve`
 * starts (see plan.ts), before anything listens or fires.
 */
import * as Cron from "effect/Cron"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { EnvName, knownFields, PositiveSeconds } from "../../effects/configFields.ts"
import { RunMode } from "../../effects/Store.ts"
import { isZone } from "../../kernel/guards/marketTime.ts"

/** Defaults, documented in the README. */
export const ServeDefaults = {
  host: "127.0.0.1",
  port: 8787,
  /** How long in-flight runs get to finish on SIGTERM before they are stopped (they end `aborted`). */
  shutdownSeconds: 30,
  /** A missed schedule runs once at start while its trading day allows it. */
  catchUp: true
} as const

/** Hosts only this machine can reach: read endpoints need no token there unless one is configured. */
export const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(host)

/** The most accounts one fleet run rebalances at once (as keel.yaml's `fleet.concurrency`). */
const MAX_CONCURRENCY = 64

const Port = Schema.Number.check(
  Schema.makeFilter((n: number) => Number.isInteger(n) && n >= 0 && n <= 65_535, {
    expected: "a port from 0 to 65535 (0: any free port)"
  })
)

const Concurrency = Schema.Number.check(
  Schema.makeFilter((n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_CONCURRENCY, {
    expected: `a whole number from 1 to ${MAX_CONCURRENCY}`
  })
)

const Triggers = knownFields(
  "a triggers field",
  Schema.Struct({
    /** Environment variable holding the HMAC secret requests are signed with. */
    secretEnv: EnvName,
    /** What a trigger's runs do: preview, or execute (place orders). Required: an unattended choice is explicit. */
    mode: RunMode
  })
)

export const ServeConfig = knownFields(
  "a serve field",
  Schema.Struct({
    host: Schema.optionalKey(Schema.NonEmptyString),
    port: Schema.optionalKey(Port),
    /** Environment variable holding the bearer token of the read endpoints. */
    tokenEnv: Schema.optionalKey(EnvName),
    /** `POST /v1/trigger`: off (404) unless given. */
    triggers: Schema.optionalKey(Triggers),
    shutdownSeconds: Schema.optionalKey(PositiveSeconds),
    /** Accounts each fleet run rebalances at once (default: `fleet.concurrency`). */
    concurrency: Schema.optionalKey(Concurrency)
  })
).check(
  Schema.makeFilter((serve: { readonly host?: string; readonly tokenEnv?: string }) =>
    serve.tokenEnv !== undefined || isLoopback(serve.host ?? ServeDefaults.host) || {
      path: ["tokenEnv"],
      issue: "the environment variable of a bearer token: a host other than 127.0.0.1, ::1 or localhost needs one"
    }
  )
)
export type ServeConfig = typeof ServeConfig.Type

/** A cron expression's first problem (Effect's words), or undefined when it parses. */
const cronProblem = (expression: string): string | undefined => {
  const parsed = Cron.parse(expression)
  return Result.isFailure(parsed) ? parsed.failure.message.replace(/^Expected /, "") : undefined
}

export const ScheduleConfig = knownFields(
  "a schedule field",
  Schema.Struct({
    /** Minute hour day-of-month month day-of-week (a 6th field first: seconds), in `zone`. */
    cron: Schema.String.check(
      Schema.makeFilter((expression: string) => {
        const problem = cronProblem(expression)
        return problem === undefined || `a cron expression such as "35 9 * * 1-5" (${problem})`
      })
    ),
    /** IANA time zone; default the calendar's (NYSE: America/New_York). */
    zone: Schema.optionalKey(
      Schema.String.check(
        Schema.makeFilter((zone: string) => isZone(zone), { expected: "an IANA time zone, e.g. \"America/New_York\"" })
      )
    ),
    all: Schema.optionalKey(Schema.Literal(true)),
    accounts: Schema.optionalKey(Schema.NonEmptyArray(Schema.NonEmptyString)),
    group: Schema.optionalKey(Schema.NonEmptyString),
    mode: RunMode,
    catchUp: Schema.optionalKey(Schema.Boolean)
  })
).check(
  Schema.makeFilter((schedule: { readonly all?: true; readonly accounts?: unknown; readonly group?: string }) =>
    [schedule.all, schedule.accounts, schedule.group].filter((x) => x !== undefined).length === 1 || {
      path: ["all"],
      issue: "exactly one of all: true, accounts (a list of names) and group"
    }
  )
)
export type ScheduleConfig = typeof ScheduleConfig.Type

export const SchedulesConfig = Schema.Array(ScheduleConfig)
