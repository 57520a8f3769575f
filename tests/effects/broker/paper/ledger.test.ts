/**
 * Damaged paper books (a stored amount that is not a number, written by hand or by another
 * program) are named in one line: the books file, the table and column, and the value; never a
 * stack trace, nothing on stdout, even with --json.
 */
import { DatabaseSync } from "node:sqlite"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { singleLine, type Workspace, workspace } from "../../../support/cli.ts"

let w: Workspace

beforeAll(async () => {
  w = workspace("keel-damaged-books-")
  // A preview opens the paper account: its books exist from then on.
  expect((await w.run(["run", "--account", "demo", "--json"])).code).toBe(0)
}, 60_000)
afterAll(() => w.cleanup())

/** Sets `column` of every row of `table` in the demo account's books to `value`. */
const damage = (table: string, column: string, value: string): void => {
  const books = new DatabaseSync(w.path(".keel/paper/demo.db"))
  books.prepare(`UPDATE ${table} SET ${column} = ?`).run(value)
  books.close()
}

describe("damaged paper books", () => {
  it.each([
    ["run", ["run", "--account", "demo", "--json"]],
    ["positions", ["positions", "--account", "demo", "--json"]]
  ])("a cash that is not a number stops %s with one line naming the books and the field (exit 3)", async (_, argv) => {
    damage("paper_accounts", "cash", "lots")
    const r = await w.run(argv)
    expect(r.stdout).toBe("")
    expect(singleLine(r.stderr)).toMatch(
      /^paper books \.keel\/paper\/demo\.db: paper_accounts\.cash: expected a decimal .*, got "lots"$/
    )
    expect(r.code).toBe(3)
  }, 30_000)
})
