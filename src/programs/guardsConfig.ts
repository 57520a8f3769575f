/**
 * keel.yaml's `guards:`: what every account's executions are held to (top level), and what one
 * account changes (its own `guards:`, field by field). Defaults: once per trading day on, no
 * minimum interval, no pattern day trader protection (a cash account), no risk limits, NYSE's
 * calendar. `--force` and `--confirm-over-limits` come from the command line.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { knownFields, PositiveDecimal } from "../effects/configFields.ts"
import { decodeShape, inConfigDir, InputFileError, readInput } from "../effects/inputs.ts"
import type { DecimalInput } from "../formats/decimal.ts"
import { Decimal } from "../kernel/decimal.ts"
import { type Calendar, CalendarFile } from "../kernel/guards/calendar.ts"
import { nyse } from "../kernel/guards/nyse.ts"
import type { AccountConfig, LoadedConfig } from "./config.ts"
import type { RunGuards } from "./run/guards.ts"

const NonNegativeMinutes = Schema.Number.check(
  Schema.makeFilter((n: number) => Number.isFinite(n) && n >= 0, { expected: "a number of minutes, at least 0" })
)

export const GuardsConfig = knownFields(
  "a guards field",
  Schema.Struct({
    /** The market's trading days and hours: `nyse` (bundled, the default) or a calendar file relative to keel.yaml. */
    calendar: Schema.optionalKey(Schema.NonEmptyString),
    /** At most one execution per trading day that completed or placed an order (default true). */
    oncePerDay: Schema.optionalKey(Schema.Boolean),
    /** The least time between two runs of the account, in minutes (default 0: none). */
    minIntervalMinutes: Schema.optionalKey(NonNegativeMinutes),
    /** A margin account: pattern day trader protection applies under `dayTradeMinimumEquity` (default false). */
    margin: Schema.optionalKey(Schema.Boolean),
    /** Default 25000. */
    dayTradeMinimumEquity: Schema.optionalKey(PositiveDecimal),
    /** Pre-trade risk limits, each off unless set. */
    limits: Schema.optionalKey(
      knownFields(
        "a limits field",
        Schema.Struct({
          /** Buys and sells of one run together, as a fraction of equity. */
          maxTurnover: Schema.optionalKey(PositiveDecimal),
          /** The largest value of one order. */
          maxOrderValue: Schema.optionalKey(PositiveDecimal),
          /** The largest weight a symbol the plan buys may reach. */
          maxWeight: Schema.optionalKey(PositiveDecimal)
        })
      )
    )
  })
)
export type GuardsConfig = typeof GuardsConfig.Type

/** What the command line says about the guards. */
export interface GuardFlags {
  readonly force?: boolean | undefined
  readonly confirmOverLimits?: boolean | undefined
}

const decimal = (written: DecimalInput | undefined): Decimal | undefined =>
  written === undefined ? undefined : new Decimal(String(written))

/** An account's guards: its own fields over the top level's, over the defaults; a calendar file read and checked. */
export const runGuards = (loaded: LoadedConfig, account: AccountConfig, flags: GuardFlags) =>
  Effect.gen(function*() {
    const own = account.guards
    const defaults = loaded.config.guards
    const field = <K extends keyof GuardsConfig>(key: K): GuardsConfig[K] | undefined => own?.[key] ?? defaults?.[key]
    const limits = field("limits")
    return {
      calendar: yield* accountCalendar(loaded, account),
      oncePerDay: field("oncePerDay") ?? true,
      minInterval: Duration.minutes(field("minIntervalMinutes") ?? 0),
      margin: field("margin") ?? false,
      minimumEquity: decimal(field("dayTradeMinimumEquity")),
      limits: {
        maxTurnover: decimal(limits?.maxTurnover),
        maxOrderValue: decimal(limits?.maxOrderValue),
        maxWeight: decimal(limits?.maxWeight)
      },
      force: flags.force === true,
      confirmOverLimits: flags.confirmOverLimits === true
    } satisfies RunGuards
  })

/** The bundled calendar's name in keel.yaml. */
const BUNDLED_CALENDAR = "nyse"

/**
 * The account's trading calendar (its own `guards.calendar`, else the top level's): NYSE's, or the
 * user's file in its place (every field checked; an error names the file and the field).
 */
export const accountCalendar = (loaded: LoadedConfig, account: AccountConfig) =>
  Effect.gen(function*() {
    const name = account.guards?.calendar ?? loaded.config.guards?.calendar
    if (name === undefined || name === BUNDLED_CALENDAR) return nyse
    const input = yield* readInput("calendar", inConfigDir(loaded.dir, name))
    const decoded = decodeShape(CalendarFile as Schema.Codec<Calendar, unknown>, input.data)
    if (Result.isFailure(decoded)) return yield* new InputFileError({ file: input.file, detail: decoded.failure })
    return decoded.success
  })
