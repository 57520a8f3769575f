/**
 * What `rebalance serve` runs, from keel.yaml: its address, the secrets it checks (read from the
 * environment, redacted) and its schedules, each with its accounts and calendar. Everything is
 * checked here, before anything listens or fires; a problem is one line naming the file and field.
 */
import * as Cron from "effect/Cron"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import { InputFileError } from "../../effects/inputs.ts"
import { secretFromEnv } from "../../effects/secrets.ts"
import type { RunMode } from "../../effects/Store.ts"
import { ConfigDefaults, type LoadedConfig } from "../config.ts"
import { selectAccounts, type Selection } from "../fleet/selection.ts"
import { accountCalendar } from "../guardsConfig.ts"
import { isLoopback, type ScheduleConfig, ServeDefaults } from "./config.ts"
import type { PlannedSchedule } from "./scheduler.ts"

export interface ServePlan {
  readonly host: string
  readonly port: number
  /** Required by the read endpoints whenever set; unset, they answer only on a loopback host. */
  readonly token: Redacted.Redacted<string> | undefined
  readonly loopback: boolean
  /** `POST /v1/trigger`, when configured: the HMAC secret and what its runs do. */
  readonly triggers: { readonly secret: Redacted.Redacted<string>; readonly mode: RunMode } | undefined
  readonly shutdown: Duration.Duration
  /** Accounts each fleet run rebalances at once. */
  readonly concurrency: number
  readonly schedules: ReadonlyArray<PlannedSchedule>
}

/** The serve block and schedules of a loaded keel.yaml, checked against the rest of it. */
export const servePlan = (loaded: LoadedConfig) =>
  Effect.gen(function*() {
    const { config, file } = loaded
    const serve = config.serve
    if (serve === undefined) {
      return yield* new InputFileError({ file, detail: "serve: expected a serve block (host, port, …) to serve" })
    }
    const host = serve.host ?? ServeDefaults.host
    const token = serve.tokenEnv === undefined ? undefined : yield* secretFromEnv({
      file,
      field: "serve.tokenEnv",
      variable: serve.tokenEnv,
      what: "the bearer token of the read endpoints"
    })
    const triggers = serve.triggers === undefined ? undefined : {
      secret: yield* secretFromEnv({
        file,
        field: "serve.triggers.secretEnv",
        variable: serve.triggers.secretEnv,
        what: "the secret triggers are signed with"
      }),
      mode: serve.triggers.mode
    }
    const schedules = yield* Effect.forEach(config.schedules ?? [], (schedule, i) => planSchedule(loaded, schedule, i))
    return {
      host,
      port: serve.port ?? ServeDefaults.port,
      token,
      loopback: isLoopback(host),
      triggers,
      shutdown: Duration.seconds(serve.shutdownSeconds ?? ServeDefaults.shutdownSeconds),
      concurrency: serve.concurrency ?? config.fleet?.concurrency ?? ConfigDefaults.fleetConcurrency,
      schedules
    } satisfies ServePlan
  })

const selectionOf = (schedule: ScheduleConfig): Selection =>
  schedule.group !== undefined
    ? { _tag: "Group", group: schedule.group }
    : schedule.accounts !== undefined
    ? { _tag: "Listed", names: schedule.accounts }
    : { _tag: "All" }

/**
 * A schedule's accounts (an unknown one or group is named with the schedule's index) and its
 * calendar (its first account's): the cron runs in `zone`, else in the calendar's time zone.
 */
const planSchedule = (loaded: LoadedConfig, schedule: ScheduleConfig, i: number) =>
  Effect.gen(function*() {
    const at = `schedules[${i}]`
    const accounts = yield* selectAccounts(loaded, selectionOf(schedule)).pipe(
      Effect.mapError((error) => new InputFileError({ file: loaded.file, detail: `${at}.${error.detail}` }))
    )
    const first = accounts[0]
    if (first === undefined) {
      return yield* new InputFileError({ file: loaded.file, detail: `${at}: expected at least one account` })
    }
    const calendar = yield* accountCalendar(loaded, first)
    const zone = schedule.zone ?? calendar.zone
    const cron = Cron.parse(schedule.cron, zone)
    if (Result.isFailure(cron)) {
      return yield* new InputFileError({ file: loaded.file, detail: `${at}.cron: ${cron.failure.message}` })
    }
    return {
      label: `${at} (${schedule.cron}, ${zone})`,
      cron: cron.success,
      accounts: accounts.map((a) => a.name),
      mode: schedule.mode,
      catchUp: schedule.catchUp ?? ServeDefaults.catchUp,
      calendar
    } satisfies PlannedSchedule
  })
