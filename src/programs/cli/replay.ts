/**
 * `rebalance replay FILE [--json]`: re-runs the program against a recorded session and
 * says whether today's code decides what the recorded run decided.
 *
 * The replay runs the same `rebalanceAccount` with the header's account, targets, policy
 * and options, on the Replay broker (it answers from the file and reaches no venue), an
 * in-memory Store and a silent Notifier, on virtual time (TestClock starting at the
 * recorded start): waits for fills take no real time. Nothing outside the process is
 * written: no database file, no artifacts, no broker.
 *
 * Exit 0 identical; 1 different (a divergence, a recorded call never made, or a
 * different plan, order or final position); 2 the file cannot be read, is not a session,
 * is of an unknown version, or its header's targets or policy are not valid input.
 */
import { Argument, Command } from "effect/cli"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import { TestClock } from "effect/testing"
import { parseSession, type Session } from "../../effects/broker/recording/session.ts"
import * as Replay from "../../effects/broker/replay/layer.ts"
import { InputFileError, readText } from "../../effects/inputs.ts"
import { Notifier } from "../../effects/Notifier.ts"
import { Store } from "../../effects/Store.ts"
import type { InvalidInput } from "../../kernel/errors.ts"
import { validatePolicy } from "../../kernel/rebalance/policy.ts"
import { validateTargets } from "../../kernel/rebalance/targets.ts"
import { printed } from "../documents/document.ts"
import { type ReplayReport, ReplayReportDocument } from "../documents/replay.ts"
import { storeLayer } from "../layers.ts"
import { rebalanceAccount, type RunRequest } from "../run/rebalanceAccount.ts"
import { outcomeDifferences, outcomeOf } from "../sessions.ts"
import { jsonFlag } from "./flags.ts"
import { indent } from "./render.ts"

/** How far virtual time may run before a replay is declared stuck (recorded runs wait minutes, not days). */
export const ReplayLimits = { step: "1 minute", virtualLimitMillis: 7 * 24 * 60 * 60 * 1000 } as const

export type { ReplayReport } from "../documents/replay.ts"

/**
 * The run a session recorded. Its header keeps the targets and policy as they were given;
 * they are validated here, as `rebalance run` validated them: one that no longer is valid
 * cannot be replayed (exit 2, naming the file).
 */
export const requestOf = (session: Session): Result.Result<RunRequest, InputFileError> =>
  Result.gen(function*() {
    const { header } = session
    const invalid = (e: InvalidInput) => new InputFileError({ file: session.file, detail: `the header's ${e.message}` })
    const policy = yield* Result.mapError(validatePolicy(header.policy), invalid)
    const targets = yield* Result.mapError(validateTargets(header.targets, policy), invalid)
    return {
      account: header.account,
      targets,
      policy,
      execute: header.run.execute,
      ignoreMarketHours: header.run.ignoreMarketHours,
      onOpenOrders: header.run.onOpenOrders,
      fillTimeout: header.run.fillTimeoutMillis,
      pollInterval: header.run.pollIntervalMillis
    }
  })

/** Reads and checks a session file: exit 2 material when it is not one. */
export const readSession = (file: string) =>
  Effect.gen(function*() {
    const text = yield* readText(file, (reason) => `cannot read the session file: ${reason}`)
    const parsed = parseSession(file, text)
    if (Result.isFailure(parsed)) return yield* new InputFileError({ file, detail: parsed.failure })
    return parsed.success
  })

const silent = Layer.succeed(Notifier)(Notifier.of({ notify: () => Effect.void }))

/** Runs the program against the session on virtual time and compares; a header that is not valid input fails. */
export const replaySession = (session: Session): Effect.Effect<ReplayReport, InputFileError> =>
  Effect.flatMap(Effect.fromResult(requestOf(session)), (request) => replay(session, request))

const replay = (session: Session, request: RunRequest): Effect.Effect<ReplayReport> =>
  Effect.scoped(
    Effect.gen(function*() {
      const control = yield* Replay.ReplayControl
      const store = yield* Store
      yield* TestClock.setTime(session.header.startedAt)
      const fiber = yield* Effect.forkChild(rebalanceAccount(request))
      const limit = session.header.startedAt + ReplayLimits.virtualLimitMillis
      let stuck = false
      yield* Effect.yieldNow
      while (fiber.pollUnsafe() === undefined && !Deferred.isDoneUnsafe(control.diverged)) {
        yield* TestClock.adjust(ReplayLimits.step)
        if ((yield* Clock.currentTimeMillis) > limit) {
          stuck = true
          break
        }
      }
      const divergence = Deferred.isDoneUnsafe(control.diverged) ? yield* Deferred.await(control.diverged) : null
      if (fiber.pollUnsafe() === undefined) yield* Fiber.interrupt(fiber)
      const runs = yield* store.listRuns(undefined, 1).pipe(Effect.orDie)
      const replayed = runs[0] === undefined ? null : yield* outcomeOf(runs[0].id).pipe(Effect.orDie)
      const recorded = session.outcome === undefined ? null : (({ type: _, t: __, ...line }) => line)(session.outcome)
      const unmatched = divergence === null && !stuck ? yield* control.unmatched : []
      const differences = [
        ...(stuck
          ? [
            `the replayed run did not finish within ${
              ReplayLimits.virtualLimitMillis / 3_600_000
            } hours of virtual time`
          ]
          : []),
        ...(recorded !== null && replayed !== null ? outcomeDifferences(recorded, replayed) : [])
      ]
      return {
        file: session.file,
        identical: divergence === null && unmatched.length === 0 && differences.length === 0,
        header: {
          account: session.header.account,
          broker: session.header.broker,
          keel: session.header.keel,
          startedAt: new Date(session.header.startedAt).toISOString()
        },
        truncatedLine: session.truncatedLine ?? null,
        divergence,
        unmatched: unmatched.map((c) => ({ line: c.line, method: c.method, args: c.args })),
        differences,
        recorded,
        replayed
      } satisfies ReplayReport
    })
  ).pipe(
    Effect.provide(Layer.mergeAll(Replay.layer(session), storeLayer(":memory:"), silent).pipe(Layer.orDie)),
    Effect.provide(TestClock.layer({ warningDelay: "1 hour" }))
  )

const call = (c: { readonly method: string; readonly args: unknown }): string =>
  `${c.method}${c.args === null ? "" : ` ${JSON.stringify(c.args)}`}`

/** What a replay found, one line each: where it diverged, what it did not replay, every difference. */
const findings = (report: ReplayReport): ReadonlyArray<string> => {
  const d = report.divergence
  return [
    ...(report.truncatedLine === null
      ? []
      : [
        `line ${report.truncatedLine} is cut short (the recording stopped mid-write); the lines before it were replayed`
      ]),
    ...(d === null
      ? []
      : [
        d.expected === undefined
          ? `diverged after the last recorded call: the program called ${call(d.made)}; the recording has no more calls`
          : `diverged at line ${d.expected.line}: the program called ${call(d.made)}; the recording expected ${
            call(d.expected)
          }`
      ]),
    ...(report.recorded === null
      ? ["the recording has no outcome line: only the broker calls were compared, not the plan, orders or positions"]
      : []),
    ...report.unmatched.map((u) => `line ${u.line}: recorded ${call(u)} was never made`),
    ...report.differences
  ]
}

const describeReport = (report: ReplayReport): string =>
  [
    `${report.file}: ${report.identical ? "identical" : "different"} (account ${report.header.account}, ` +
    `${report.header.broker} broker, recorded ${report.header.startedAt} by keel ${report.header.keel})`,
    ...indent(findings(report))
  ].join("\n")

const printReport = printed(ReplayReportDocument)

/** Different: already reported; the CLI sets exit code 1. */
export class ReplayDifferent extends Data.TaggedError("ReplayDifferent") {}

export const replayCommand = Command.make(
  "replay",
  {
    file: Argument.String("file").pipe(Argument.withDescription("Session file written by `rebalance run --record`")),
    json: jsonFlag
  },
  ({ file, json }) =>
    Effect.gen(function*() {
      const session = yield* readSession(file)
      const report = yield* replaySession(session)
      yield* Console.log(json ? printReport(report) : describeReport(report))
      if (!report.identical) return yield* Effect.fail(new ReplayDifferent())
    })
).pipe(
  Command.withDescription(
    "Re-run the program against a recorded session and compare (exit 0 identical, 1 different, 2 unreadable)"
  )
)
