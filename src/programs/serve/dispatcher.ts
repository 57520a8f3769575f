/**
 * The service's dispatcher: it starts fleet runs in the background (a FiberSet in the service's
 * scope), logs each account's end in one line, and on shutdown gives the runs in flight a grace
 * period before it stops them (an interrupted run ends `aborted`, never left `running`). The
 * fleet notifies through its notifiers as any fleet run does.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type { RunMode } from "../../effects/Store.ts"
import type { AccountConfig, LoadedConfig } from "../config.ts"
import { endLine, makeBoard } from "../fleet/board.ts"
import { runFleet } from "../fleet/fleet.ts"
import { errorLine } from "../run/problems.ts"

/** A fleet run to start: who asked (a trigger, a schedule), for logs. Unattended: guards are never overridden. */
export interface FleetRequest {
  readonly id: string
  readonly accounts: ReadonlyArray<AccountConfig>
  readonly mode: RunMode
  readonly origin: string
}

export interface Dispatcher {
  /** Starts the fleet run and returns at once. */
  readonly start: (request: FleetRequest) => Effect.Effect<void>
  /** Waits up to `grace` for the runs in flight, then stops those left. */
  readonly drain: (grace: Duration.Duration) => Effect.Effect<void>
}

type FleetServices = Effect.Services<ReturnType<typeof runFleet>>

export const makeDispatcher = (
  loaded: LoadedConfig,
  concurrency: number,
  log: (line: string) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const services = yield* Effect.context<FleetServices>()
    const fleets = yield* FiberSet.make()
    const names = (request: FleetRequest) => request.accounts.map((a) => a.name)

    const fleet = (request: FleetRequest) =>
      Effect.gen(function*() {
        const board = yield* makeBoard(names(request), (entry) => log(`${request.id}: ${endLine(entry)}`))
        const options = {
          id: request.id,
          execute: request.mode === "execute",
          ignoreMarketHours: false,
          wait: 0,
          concurrency
        }
        const entries = yield* runFleet(loaded, request.accounts, options, board)
        const completed = entries.filter((e) => e.status === "completed").length
        yield* log(`${request.id}: ended, ${completed} of ${entries.length} accounts completed`)
      }).pipe(
        Effect.onInterrupt(() => log(`${request.id}: stopped by the shutdown`)),
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.failCause(cause)
            : log(`${request.id}: failed: ${errorLine(Cause.squash(cause))}`)
        ),
        Effect.provideContext(services)
      )

    const start = (request: FleetRequest) =>
      log(`${request.id}: ${request.mode} of ${names(request).join(", ")} (${request.origin})`).pipe(
        Effect.andThen(FiberSet.run(fleets, fleet(request))),
        Effect.asVoid
      )

    const drain = (grace: Duration.Duration) =>
      Effect.gen(function*() {
        const running = yield* FiberSet.size(fleets)
        if (running === 0) return
        yield* log(`stopping: waiting up to ${Duration.format(grace)} for ${running} fleet run(s)`)
        const finished = yield* FiberSet.awaitEmpty(fleets).pipe(Effect.timeoutOption(grace))
        if (finished._tag === "Some") return
        yield* log("stopping: the grace period is over, stopping the runs left (they end aborted)")
        yield* FiberSet.clear(fleets)
        yield* FiberSet.awaitEmpty(fleets)
      })

    return { start, drain } satisfies Dispatcher
  })
