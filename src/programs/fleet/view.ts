/**
 * The live progress view of a fleet run, on a terminal: how many accounts are done, running,
 * failed and waiting, and each running account at its step, repainted in place on stderr. It
 * leaves nothing behind: the summary that follows replaces it. Without a terminal the plain
 * lines of the board are shown instead (one per account as it ends).
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import type { AccountState, Board } from "./board.ts"

/** How often the view is repainted. */
const REPAINT = "200 millis"

/** The lines of one paint. */
export const paint = (states: ReadonlyArray<readonly [string, AccountState]>): ReadonlyArray<string> => {
  const ended = states.flatMap(([, s]) => (s._tag === "Ended" ? [s.entry] : []))
  const running = states.flatMap(([account, s]) => (s._tag === "Running" ? [[account, s.step] as const] : []))
  const done = ended.filter((e) => e.status === "completed").length
  const width = Math.max(0, ...running.map(([account]) => account.length))
  return [
    `accounts: ${done} done, ${running.length} running, ${ended.length - done} not completed, ` +
    `${states.length - ended.length - running.length} waiting`,
    ...running.map(([account, step]) => `  ${account.padEnd(width)}  ${step}`)
  ]
}

/** A terminal's control sequences: the cursor up `n` lines, and the screen cleared below it. */
const up = (n: number): string => (n === 0 ? "" : `\u001b[${n}A`)
const CLEAR_BELOW = "\u001b[J"

/** Starts repainting `board` on `terminal`; the returned effect stops it and clears the view. */
export const startLiveView = (board: Board, terminal: { readonly write: (text: string) => unknown }) =>
  Effect.gen(function*() {
    let shown = 0
    const repaint = Effect.flatMap(board.states, (states) =>
      Effect.sync(() => {
        const lines = paint(states)
        terminal.write(`\r${up(shown)}${CLEAR_BELOW}${lines.join("\n")}\n`)
        shown = lines.length
      }))
    const fiber = yield* Effect.forkChild(Effect.repeat(repaint, Schedule.spaced(REPAINT)))
    return Fiber.interrupt(fiber).pipe(
      Effect.andThen(Effect.sync(() => terminal.write(`\r${up(shown)}${CLEAR_BELOW}`)))
    )
  })
