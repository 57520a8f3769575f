/** Runs as the Store keeps them, in status and history. */
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import { HistoryDocument } from "../../../src/programs/documents/runs.ts"

describe("stored runs (status and history)", () => {
  it("write an unknown reason and finish as null, in the run's own key order", () => {
    const [running] = Schema.encodeSync(HistoryDocument)([
      { id: "r1", account: "demo", mode: "execute", status: "running", step: "plan", startedAt: 1 }
    ])
    expect(Object.entries(running ?? {})).toEqual([
      ["id", "r1"],
      ["account", "demo"],
      ["mode", "execute"],
      ["status", "running"],
      ["step", "plan"],
      ["reason", null],
      ["startedAt", 1],
      ["finishedAt", null]
    ])
  })
})
