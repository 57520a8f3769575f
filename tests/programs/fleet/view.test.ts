/** The fleet's progress: the live view's paint, the plain end lines, and the board they read. */
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import type { FleetEntry } from "../../../src/programs/documents/fleet.ts"
import { endLine, makeBoard } from "../../../src/programs/fleet/board.ts"
import { paint, startLiveView } from "../../../src/programs/fleet/view.ts"

const completed: FleetEntry = {
  account: "alice",
  status: "completed",
  summary: {
    runId: "r1",
    account: "alice",
    mode: "execute",
    status: "completed",
    step: "done",
    orders: { placed: 4, filled: 3, failed: 1 },
    cash: { before: "100000", after: "2020.82" },
    drift: { before: "0.45", after: "0.001209" },
    warnings: [],
    errors: {}
  }
}
const broken: FleetEntry = { account: "carol", status: "error", reason: "targets.csv: no such file" }

describe("fleet progress", () => {
  it("tells an account's end in one line", () => {
    expect(endLine(completed)).toBe(
      "alice: completed; orders placed 4, filled 3; cash 100000 → 2020.82; drift 45.00% → 0.12%"
    )
    expect(endLine(broken)).toBe("carol: error: targets.csv: no such file")
  })

  it("paints the counts and each running account at its step", async () => {
    const ended: Array<string> = []
    const lines = await Effect.runPromise(Effect.gen(function*() {
      const board = yield* makeBoard(["alice", "bob", "carol", "dave"], (e) => Effect.sync(() => ended.push(e.account)))
      yield* board.enter("bob", "sell-phase")
      yield* board.enter("alice", "snapshot")
      yield* board.end(completed)
      yield* board.end(broken)
      return paint(yield* board.states)
    }))
    expect(ended).toEqual(["alice", "carol"])
    expect(lines).toEqual(["accounts: 1 done, 1 running, 1 not completed, 1 waiting", "  bob  sell-phase"])
  })

  it("repaints in place on the terminal and clears itself when stopped", async () => {
    const written: Array<string> = []
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const board = yield* makeBoard(["alice"], () => Effect.void)
      const stop = yield* startLiveView(board, { write: (text) => written.push(text) })
      yield* Effect.sleep("50 millis")
      yield* board.enter("alice", "plan")
      yield* Effect.sleep("450 millis")
      yield* stop
    })))
    expect(written[0]).toBe("\r\u001b[J" + "accounts: 0 done, 0 running, 0 not completed, 1 waiting\n")
    expect(written).toContain(
      "\r\u001b[2A\u001b[J" + "accounts: 0 done, 1 running, 0 not completed, 0 waiting\n  alice  plan\n"
    )
    expect(written.at(-1)).toBe("\r\u001b[2A\u001b[J")
  })
})
