/**
 * Commands that only read (`status`, `history`) never create `.keel/` or a database: with no
 * store yet they answer from an empty one, and with a store they leave its bytes as they were.
 */
import { readFileSync } from "node:fs"
import { afterAll, describe, expect, it } from "vitest"
import { type HistoryJson, parseJson, type Workspace, workspace } from "../../support/cli.ts"

const workspaces: Array<Workspace> = []
afterAll(() => {
  for (const ws of workspaces) ws.cleanup()
})

describe("read-only commands", () => {
  it("with no store yet: status says so (exit 2), history lists nothing; nothing is created", async () => {
    const ws = workspace("keel-readonly-")
    workspaces.push(ws)
    const status = await ws.run(["status"])
    expect([status.code, status.stderr, status.stdout]).toEqual([2, "run: no runs recorded yet\n", ""])
    const history = await ws.run(["history", "--json"])
    expect(history.code, history.stderr).toBe(0)
    expect(parseJson<HistoryJson>(history.stdout)).toEqual([])
    expect(ws.exists(".keel")).toBe(false)
  })

  it("with a store: status and history leave it byte for byte as it was", async () => {
    const ws = workspace("keel-readonly-")
    workspaces.push(ws)
    const run = await ws.run(["run", "--account", "demo"])
    expect(run.code, run.stderr).toBe(0)
    const before = readFileSync(ws.path(".keel/keel.db"))
    for (const args of [["status"], ["history"], ["status", "--json"]]) {
      const read = await ws.run(args)
      expect(read.code, read.stderr).toBe(0)
    }
    expect(readFileSync(ws.path(".keel/keel.db")).equals(before)).toBe(true)
  }, 30_000)
})
