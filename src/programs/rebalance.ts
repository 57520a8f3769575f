#!/usr/bin/env node
/**
 * The `rebalance` CLI. Exit codes are part of its contract, so they are set here and
 * not left to the CLI library (which exits 1 on a usage error):
 * 0 success (a plan, a completed run, an identical replay; warnings included),
 * 2 invalid input or usage, 3 a run that did not complete (failed, timed out or
 * aborted: already reported; its account leased by another run; the store failing; a
 * recovery that could not finish: one line each), 1 a replay that differs (already
 * reported) or anything unexpected.
 * Every exit 2 prints exactly one line on stderr.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Cause from "effect/Cause"
import { type CliError, CliOutput, Command } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import { printable } from "../effects/inputs.ts"
import { scrubRead, SecretsRead } from "../effects/secrets.ts"
import { demoCommand } from "./cli/demo.ts"
import { historyCommand } from "./cli/history.ts"
import { paperVenueCommand } from "./cli/paperVenue.ts"
import { planCommand } from "./cli/plan.ts"
import { positionsCommand } from "./cli/positions.ts"
import { recoverCommand } from "./cli/recover.ts"
import { replayCommand } from "./cli/replay.ts"
import { runCommand } from "./cli/run.ts"
import { serveCommand } from "./cli/serve.ts"
import { statusCommand } from "./cli/status.ts"
import { targetsCommand } from "./cli/targets.ts"
import { errorLine, isRunProblem, runProblem } from "./run/problems.ts"
import { keelVersion } from "./version.ts"

export const ExitCode = { ok: 0, unexpected: 1, different: 1, invalid: 2, runNotCompleted: 3 } as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export const cli = Command.make("rebalance").pipe(
  Command.withDescription("Exact portfolio rebalancing"),
  Command.withSubcommands([
    planCommand,
    targetsCommand,
    runCommand,
    recoverCommand,
    replayCommand,
    statusCommand,
    historyCommand,
    positionsCommand,
    demoCommand,
    paperVenueCommand,
    serveCommand
  ])
)

/** Help still goes to stdout; a usage error is reported by `main` as one line instead of help text. */
const presenter = CliOutput.layerPresenter({
  present: (event) => (event._tag === "InvalidInvocation" ? Effect.void : CliOutput.defaultPresenter.present(event))
})

const usage = (error: CliError.NonShowHelpErrors, commandPath: ReadonlyArray<string>): string => {
  // The library's text for an unknown flag repeats the command and puts suggestions on more lines.
  const first = error._tag === "UnrecognizedOption"
    ? `unknown flag ${error.option}`
    : (error.message.split("\n", 1)[0] ?? error.message)
  const suggestions = "suggestions" in error && error.suggestions.length > 0
    ? ` (did you mean ${error.suggestions.join(" or ")}?)`
    : ""
  return `${commandPath.join(" ")}: ${first}${suggestions}; see ${commandPath.join(" ")} --help`
}

/** A problem's one line on stderr: control characters escaped, cut to a readable length. */
const problem = (line: string) => Console.error(printable(line))

/**
 * Anything `main` does not expect (a defect, an error no command should let out): one line on
 * stderr, the secrets this process read scrubbed from it, never a stack trace and never stdout.
 */
const unexpected = (cause: Cause.Cause<unknown>) =>
  Effect.flatMap(scrubRead, (scrub) => {
    return problem(`rebalance: unexpected error: ${scrub(errorLine(Cause.squash(cause)))}; please report it`)
  }).pipe(Effect.as(ExitCode.unexpected))

/** Paper books a run found damaged (`DamagedBooks`, told by its tag so the paper modules stay lazily loaded). */
const isDamagedBooks = (defect: unknown): boolean =>
  typeof defect === "object" && defect !== null && "_tag" in defect && defect._tag === "DamagedBooks"

/** Runs the CLI on `argv` and returns the exit code; stdout and stderr are written here. */
export const main = (argv: ReadonlyArray<string>) =>
  Command.runWith(cli, { version: keelVersion() })(argv).pipe(
    Effect.as<ExitCode>(ExitCode.ok),
    Effect.catch((error) => {
      if (isRunProblem(error)) {
        const { invalid, line } = runProblem(error)
        return problem(line).pipe(Effect.as(invalid ? ExitCode.invalid : ExitCode.runNotCompleted))
      }
      if (error._tag === "RunNotCompleted" || error._tag === "FleetNotCompleted") {
        return Effect.succeed(ExitCode.runNotCompleted)
      }
      if (error._tag === "ReplayDifferent") return Effect.succeed(ExitCode.different)
      if (error._tag === "ShowHelp") {
        const first = error.errors[0]
        return first === undefined
          ? Effect.succeed(ExitCode.ok)
          : problem(usage(first, error.commandPath)).pipe(Effect.as(ExitCode.invalid))
      }
      return Effect.die(error)
    }),
    // An interruption (SIGINT) is the runtime's to report; damaged paper books (raised as a defect
    // from inside the venue) are a store that cannot be read, exit 3; everything else ends here.
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
        : isDamagedBooks(Cause.squash(cause))
        ? problem(String((Cause.squash(cause) as Error).message)).pipe(Effect.as(ExitCode.runNotCompleted))
        : unexpected(cause)
    ),
    Effect.provide(presenter),
    Effect.provideServiceEffect(SecretsRead, Effect.sync(() => new Set<string>())),
    // Logs (a dropped socket, a retried request) are for people: stdout is for results,
    // and with --json it holds exactly one JSON object.
    Effect.provideService(Logger.LogToStderr, true)
  )

if (import.meta.main) {
  main(process.argv.slice(2)).pipe(
    Effect.flatMap((code) =>
      Effect.sync(() => {
        process.exitCode = code
      })
    ),
    Effect.provide(NodeServices.layer),
    NodeRuntime.runMain
  )
}
