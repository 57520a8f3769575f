/**
 * What a guard says of a run before it trades: go on, go on with a note to record (an override,
 * or a guess the guard had to make), or stop, with the one line `status` and the notification
 * show. Guards are plain functions of what the caller read; this is their common answer.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"

/** Every guard, by the name its verdicts and refusals carry. */
export const GuardName = Schema.Literals(["market-hours", "once-per-day", "interval", "day-trades", "risk-limits"])
export type GuardName = typeof GuardName.Type

export interface Pass {
  readonly _tag: "Pass"
  readonly guard: GuardName
}

/** The run may go on; the note is recorded with it. `overridden`: the guard would have refused. */
export interface Note {
  readonly _tag: "Note"
  readonly guard: GuardName
  readonly note: string
  readonly overridden: boolean
}

export interface Refuse {
  readonly _tag: "Refuse"
  readonly guard: GuardName
  /** One line, naming what stopped the run and, where there is one, when it may run. */
  readonly reason: string
}

export type Verdict = Pass | Note | Refuse

export const pass = (guard: GuardName): Verdict => ({ _tag: "Pass", guard })

export const note = (guard: GuardName, text: string, overridden: boolean): Verdict => ({
  _tag: "Note",
  guard,
  note: text,
  overridden
})

export const refuse = (guard: GuardName, reason: string): Verdict => ({ _tag: "Refuse", guard, reason })

/** A guard stopped the run: its error category is `guard`, and its message is the guard's one line. */
export class GuardRefused extends Schema.TaggedError<GuardRefused>()("GuardRefused", {
  guard: GuardName,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.guard}: ${this.reason}`
  }
}

/** The notes to record when every guard lets the run go on, or the first refusal (in the order given). */
export const judge = (verdicts: ReadonlyArray<Verdict>): Result.Result<ReadonlyArray<Note>, GuardRefused> => {
  const notes: Array<Note> = []
  for (const verdict of verdicts) {
    if (verdict._tag === "Refuse") {
      return Result.fail(new GuardRefused({ guard: verdict.guard, reason: verdict.reason }))
    }
    if (verdict._tag === "Note") notes.push(verdict)
  }
  return Result.succeed(notes)
}
