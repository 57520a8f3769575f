/**
 * `rebalance serve`'s service: the HTTP API, the schedules and the dispatcher in one scope. Its
 * first line on stdout is `serving on http://HOST:PORT`; everything else is logged on stderr.
 * Closing the scope (SIGTERM) undoes it in reverse: the schedules stop, the server stops
 * accepting, the fleet runs in flight get the grace period (then end `aborted`), and `stopped`.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { HttpRouter, HttpServer } from "effect/http"
import * as Layer from "effect/Layer"
import { createServer } from "node:http"
import { InputFileError } from "../../effects/inputs.ts"
import { type RunMode, Store, type StoreShape } from "../../effects/Store.ts"
import type { LoadedConfig } from "../config.ts"
import { databaseFile, storeLayer } from "../layers.ts"
import { makeRunId } from "../run/ids.ts"
import { type Dispatcher, makeDispatcher } from "./dispatcher.ts"
import { routes } from "./http.ts"
import type { ServePlan } from "./plan.ts"
import { type Fire, runSchedule } from "./scheduler.ts"

/** A log line on stderr, stamped with the time. */
const log = (line: string): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => Console.error(`${new Date(now).toISOString()} ${line}`))

/** How many of an account's newest runs the catch-up looks through for one since the missed time. */
const RECENT_RUNS = 100

/** Which accounts had a run of `mode`, or an execution, start at or after `since`. */
const ranSince = (store: StoreShape) => (accounts: ReadonlyArray<string>, mode: RunMode, since: number) =>
  Effect.map(
    Effect.forEach(accounts, (account) => store.listRuns(account, RECENT_RUNS)),
    (runs) =>
      new Set(
        runs.flat().filter((r) => r.startedAt >= since && (r.mode === mode || r.mode === "execute")).map((r) =>
          r.account
        )
      )
  )

/** A schedule's fire as a fleet run of its accounts, in its mode. */
const startFire = (loaded: LoadedConfig, dispatcher: Dispatcher) => (fire: Fire) =>
  Effect.gen(function*() {
    const names = new Set(fire.accounts)
    yield* dispatcher.start({
      id: `fleet-${yield* makeRunId}`,
      accounts: loaded.config.accounts.filter((a) => names.has(a.name)),
      mode: fire.schedule.mode,
      origin: `${fire.schedule.label}${fire.catchUp ? `, catching up ${new Date(fire.at).toISOString()}` : ""}`
    })
  })

/** The HTTP server on the plan's address; one that cannot listen is one line naming the address. */
const listen = (loaded: LoadedConfig, plan: ServePlan, app: ReturnType<typeof routes>) =>
  HttpRouter.serve(app, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, {
      host: plan.host,
      port: plan.port,
      gracefulShutdownTimeout: Duration.seconds(5)
    })),
    Layer.build,
    Effect.catchTag("ServeError", (error) =>
      Effect.fail(
        new InputFileError({
          file: loaded.file,
          detail: `serve: cannot listen on ${plan.host}:${plan.port}: ${
            error.cause instanceof Error ? error.cause.message : String(error.cause)
          }`
        })
      ))
  )

/** Runs the service until interrupted; `stopped` once everything is undone. */
export const serveService = (loaded: LoadedConfig, plan: ServePlan) =>
  Effect.scoped(Effect.gen(function*() {
    const store = Context.get(yield* Layer.build(storeLayer(databaseFile(loaded))), Store)
    const dispatcher = yield* makeDispatcher(loaded, plan.concurrency, log)
    yield* Effect.addFinalizer(() => dispatcher.drain(plan.shutdown))
    const server = yield* listen(loaded, plan, routes({ loaded, plan, store, dispatcher, log }))
    const url = HttpServer.formatAddress(Context.get(server, HttpServer.HttpServer).address)
    yield* Console.log(`serving on ${url}`)
    yield* log(
      `serving on ${url}: ${plan.schedules.length} schedule(s), triggers ${
        plan.triggers === undefined ? "off" : `on (${plan.triggers.mode})`
      }`
    )
    const deps = { start: startFire(loaded, dispatcher), ranSince: ranSince(store), log }
    for (const schedule of plan.schedules) yield* Effect.forkScoped(runSchedule(schedule, deps))
    return yield* Effect.never
  })).pipe(Effect.onInterrupt(() => log("stopped")))
