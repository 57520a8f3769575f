/**
 * Shared test layers for the rebalanceAccount program: the real Store and the paper
 * broker on one SQLite file, and a Notifier that keeps every summary it is sent.
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import { TestClock } from "effect/testing"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Broker } from "../../src/effects/Broker.ts"
import * as Faults from "../../src/effects/broker/faults/layer.ts"
import * as Paper from "../../src/effects/broker/paper/layer.ts"
import { Notifier, type RunSummary } from "../../src/effects/Notifier.ts"
import type { LeaseHeld, Store, StoreWriteError } from "../../src/effects/Store.ts"
import { validatePolicy } from "../../src/kernel/rebalance/policy.ts"
import { validateTargets } from "../../src/kernel/rebalance/targets.ts"
import { storeLayer } from "../../src/programs/layers.ts"
import { rebalanceAccount, type RunOutcome, type RunRequest } from "../../src/programs/run/rebalanceAccount.ts"

/** Every summary the program sent, in order. */
export class Summaries
  extends Context.Service<Summaries, Ref.Ref<ReadonlyArray<RunSummary>>>()("keel/tests/Summaries")
{}

/** A Notifier that records summaries (and the Ref to read them back). */
export const recordingNotifier: Layer.Layer<Notifier | Summaries> = Layer.effectContext(
  Effect.gen(function*() {
    const sent = yield* Ref.make<ReadonlyArray<RunSummary>>([])
    return Context.make(
      Notifier,
      Notifier.of({
        notify: (message) => Ref.update(sent, (all) => (message._tag === "Run" ? [...all, message.summary] : all))
      })
    )
      .pipe(
        Context.add(Summaries, sent)
      )
  })
)

/** A fresh temp directory per test file; `freshFile()` gives each test its own database file. */
export const tempFiles = (prefix: string) => {
  const root = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  let counter = 0
  return {
    root,
    freshFile: () => Path.join(root, `case-${++counter}`, "keel.db"),
    cleanup: () => Fs.rmSync(root, { recursive: true, force: true })
  }
}

/**
 * Everything the program needs, as the CLI wires it: Store (SQLite file + its migrations), the
 * paper venue on the same SqlClient (it migrates its own tables) under the faults decorator
 * (none armed; `Faults.FaultControls` arms them), and the recording Notifier. The venue's
 * `PaperMarket` and `Books` are provided too, for scenarios that move the market or read the books.
 */
export const programLayer = (filename: string, config: Paper.PaperConfig) =>
  Layer.mergeAll(
    Faults.layer().pipe(Layer.provideMerge(Paper.layer(config)), Layer.provideMerge(storeLayer(filename))),
    recordingNotifier
  )

/** A run request as a test writes it: targets and policy as raw input, the way keel.yaml gives them. */
export interface RunInput extends Omit<RunRequest, "targets" | "policy"> {
  readonly targets: unknown
  readonly policy: unknown
}

/** The program's request: targets and policy validated once, as the CLI does; invalid input throws (a test bug). */
export const runRequest = (input: RunInput): RunRequest => {
  const policy = Result.getOrThrow(validatePolicy(input.policy))
  return { ...input, targets: Result.getOrThrow(validateTargets(input.targets, policy)), policy }
}

/** Starts the program in a child fiber; move time with `advance` and collect it with `finish`. */
export const start = (request: RunRequest) => Effect.forkChild(rebalanceAccount(request))

/** Moves the TestClock forward `total`, `step` at a time, so every fiber sees each instant it waits for. */
export const advance = (total: Duration.Input, step: Duration.Input = "1 second") =>
  Effect.gen(function*() {
    const stepMillis = Duration.toMillis(Duration.fromInputUnsafe(step))
    let left = Duration.toMillis(Duration.fromInputUnsafe(total))
    while (left > 0) {
      const now = Math.min(stepMillis, left)
      yield* TestClock.adjust(now)
      left -= now
    }
  })

/**
 * Moves the TestClock forward `step` at a time until the program's fiber is done, then
 * joins it. Dies (failing the test) if it has not finished within `limit` of virtual time.
 */
export const finish = <A, E>(
  fiber: Fiber.Fiber<A, E>,
  options: { readonly step?: Duration.Input; readonly limit?: Duration.Input } = {}
): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    const step = Duration.toMillis(Duration.fromInputUnsafe(options.step ?? "1 second"))
    const limit = Duration.toMillis(Duration.fromInputUnsafe(options.limit ?? "30 minutes"))
    let elapsed = 0
    yield* Effect.yieldNow
    while (fiber.pollUnsafe() === undefined) {
      if (elapsed >= limit) {
        return yield* Effect.die(new Error(`the program did not finish within ${limit} ms of virtual time`))
      }
      yield* TestClock.adjust(step)
      elapsed += step
    }
    return yield* Fiber.join(fiber)
  })

/** Runs the program to its end, moving the TestClock as it waits. */
export const drive = (
  request: RunRequest,
  options: { readonly step?: Duration.Input; readonly limit?: Duration.Input } = {}
): Effect.Effect<RunOutcome, StoreWriteError | LeaseHeld, Broker | Store | Notifier> =>
  Effect.flatMap(start(request), (fiber) => finish(fiber, options))
