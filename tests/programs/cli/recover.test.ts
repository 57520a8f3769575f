/**
 * Crash safety as a user meets it, with real processes: a run killed (SIGKILL) mid-run is
 * recovered from the venue's books by the next run or by `rebalance recover`; two runs on one
 * account never both trade; an `abort` block is cleared by `recover`; store faults are one line.
 *
 * The venue is the bundled paper account (examples/), filling with a latency, so a run spends
 * seconds in its wait steps. A first run buys the example targets; then the targets move out of
 * VTI into GLD, so the run under test sells VTI and buys GLD.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, rmSync } from "node:fs"
import { DatabaseSync } from "node:sqlite"
import { afterAll, describe, expect, it } from "vitest"
import {
  firstAccount,
  type OutcomeJson,
  parseJson,
  singleLine,
  SOURCE_BIN,
  type StatusJson,
  type Workspace,
  workspace
} from "../../support/cli.ts"

const workspaces: Array<Workspace> = []
afterAll(() => {
  for (const ws of workspaces) ws.cleanup()
})

const STORE = ".keel/keel.db"

/** The paper venue's books: their own file (`.keel/paper/<account>.db`). */
const BOOKS = ".keel/paper/demo.db"

/** Rows of a query on a database file, read-only (a missing or busy file reads as no rows). */
const rows = (file: string, query: string): Array<Record<string, unknown>> => {
  if (!existsSync(file)) return []
  try {
    const db = new DatabaseSync(file, { readOnly: true })
    try {
      return db.prepare(query).all()
    } finally {
      db.close()
    }
  } catch {
    return []
  }
}

/** A workspace whose paper account holds the example targets, filling with `latency` seconds from now on. */
const heldAccount = async (latency: number, openOrders = "cancel"): Promise<Workspace> => {
  const ws = workspace("keel-recover-")
  workspaces.push(ws)
  const setup = await ws.run(["run", "--account", "demo", "--execute"])
  expect(setup.code, setup.stderr).toBe(0)
  ws.write("targets.csv", "symbol,weight\nVTI,0.25\nVXUS,0.20\nBND,0.25\nGLD,0.28\n")
  ws.editConfig((config) => {
    const account = firstAccount(config)
    account.broker = { ...account.broker, fillLatencySeconds: latency, partialFills: 3 }
    account.openOrders = openOrders
    config.timeouts = { fillSeconds: 60, pollSeconds: 1 }
  })
  return ws
}

/** The newest run's id and step in the store, if any yet. */
const newestRun = (ws: Workspace): { readonly id: string; readonly step: string } | undefined => {
  const [row] = rows(ws.path(STORE), "SELECT id, step FROM runs ORDER BY started_at DESC, id DESC LIMIT 1")
  return row === undefined ? undefined : { id: String(row["id"]), step: String(row["step"]) }
}

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode)
    else child.once("exit", (code) => resolve(code))
  })

/** Starts `rebalance ARGS` and kills it (SIGKILL, or `signal`) once the newest run other than `after` reaches `step`. */
const killAt = async (
  ws: Workspace,
  args: ReadonlyArray<string>,
  step: string,
  after?: string,
  signal: NodeJS.Signals = "SIGKILL"
): Promise<string> => {
  const child = spawn(process.execPath, [SOURCE_BIN, ...args], { cwd: ws.dir, stdio: "ignore" })
  const deadline = Date.now() + 30_000
  for (;;) {
    const run = newestRun(ws)
    if (run !== undefined && run.id !== after && run.step === step) {
      child.kill(signal)
      await exited(child)
      return run.id
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`the run ended (or hung) before reaching ${step}: ${JSON.stringify(run)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** The venue's filled quantity per client order id, and the store's fills summed per client order id. */
const filledAtVenueAndInStore = (ws: Workspace) => {
  const venue = Object.fromEntries(
    rows(ws.path(BOOKS), "SELECT client_order_id, filled_quantity FROM paper_orders")
      .filter((r) => Number(r["filled_quantity"]) > 0)
      .map((r) => [String(r["client_order_id"]), Number(r["filled_quantity"])])
  )
  const store: Record<string, number> = {}
  for (const r of rows(ws.path(STORE), "SELECT client_order_id, quantity FROM fills")) {
    const id = String(r["client_order_id"])
    store[id] = (store[id] ?? 0) + Number(r["quantity"])
  }
  return { venue, store }
}

const statuses = (ws: Workspace, table: "runs" | "order_intents") =>
  rows(ws.path(STORE), `SELECT status FROM ${table}`).map((r) => String(r["status"]))

describe("a killed run", () => {
  it("is recovered by the next run: closed as crashed, every venue fill booked once, every intent final", async () => {
    const ws = await heldAccount(2)
    const crashed = await killAt(ws, ["run", "--account", "demo", "--execute"], "sell-wait")
    const next = await ws.run(["run", "--account", "demo", "--execute"])
    expect(next.code, next.stderr).toBe(0)
    expect(next.stdout).toContain(`run ${crashed} did not finish (running at sell-wait); closed as crashed by `)
    const status = parseJson<StatusJson>((await ws.run(["status", crashed, "--json"])).stdout)
    expect(status.run.status).toBe("crashed")
    expect(status.run.reason).toMatch(/order\(s\) found at the venue, \d+ fill\(s\) booked/)
    const { venue, store } = filledAtVenueAndInStore(ws)
    expect(store).toEqual(venue)
    expect(statuses(ws, "runs").filter((s) => s === "running")).toEqual([])
    expect(
      statuses(ws, "order_intents").filter((s) => !["filled", "canceled", "rejected", "expired", "unsent"].includes(s))
    )
      .toEqual([])
  }, 60_000)

  it("is shown by status as not running once its process is gone, and recover closes it", async () => {
    const ws = await heldAccount(2)
    const crashed = await killAt(ws, ["run", "--account", "demo", "--execute"], "sell-wait")
    const before = await ws.run(["status", crashed])
    expect(before.stdout).toContain("Not running: its process is gone")
    const recovered = await ws.run(["recover", "--account", "demo", "--json"])
    expect(recovered.code, recovered.stderr).toBe(0)
    const document = parseJson<{ runs: Array<{ runId: string; closed: boolean; cancelled: number }> }>(
      recovered.stdout
    )
    expect(document.runs.map((r) => [r.runId, r.closed])).toEqual([[crashed, true]])
    const { venue, store } = filledAtVenueAndInStore(ws)
    expect(store).toEqual(venue)
    const again = await ws.run(["recover", "--account", "demo"])
    expect(again.stdout.trim()).toBe("Nothing to recover for account demo: every earlier run is settled.")
  }, 60_000)

  it("with openOrders: abort, blocks the next run until recover cancels its open orders", async () => {
    const ws = await heldAccount(30, "abort")
    const crashed = await killAt(ws, ["run", "--account", "demo", "--execute"], "sell-wait")
    const blocked = await ws.run(["run", "--account", "demo", "--execute"])
    expect(blocked.code).toBe(3)
    expect(blocked.stdout).toContain(`open order(s) of earlier run ${crashed}; `)
    const recovered = await ws.run(["recover", "--account", "demo", "--json"])
    expect(recovered.code, recovered.stderr).toBe(0)
    const [run] = parseJson<{ runs: Array<{ cancelled: number }> }>(recovered.stdout).runs
    expect(run?.cancelled).toBeGreaterThan(0)
    expect(rows(ws.path(BOOKS), "SELECT status FROM paper_orders WHERE status IN ('accepted', 'partially_filled')"))
      .toEqual([])
  }, 60_000)
})

describe("an interrupted run", () => {
  it("ends aborted, never left running, on SIGINT or SIGTERM; the next run settles its orders", async () => {
    const ws = await heldAccount(30)
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const stopped = await killAt(ws, ["run", "--account", "demo", "--execute"], "sell-wait", undefined, signal)
      const status = parseJson<StatusJson>((await ws.run(["status", stopped, "--json"])).stdout)
      expect(status.run.status).toBe("aborted")
      expect(status.run.reason).toMatch(/^interrupted \(the process was asked to stop\)/)
      expect(statuses(ws, "runs").filter((s) => s === "running")).toEqual([])
    }
    // Its sells are still open at the venue: the next run's recovery cancels them and books what filled.
    const next = await ws.run(["recover", "--account", "demo", "--json"])
    expect(next.code, next.stderr).toBe(0)
    expect(rows(ws.path(BOOKS), "SELECT status FROM paper_orders WHERE status IN ('accepted', 'partially_filled')"))
      .toEqual([])
    const { venue, store } = filledAtVenueAndInStore(ws)
    expect(store).toEqual(venue)
  }, 60_000)
})

describe("two runs on one account", () => {
  it("never both trade: the second stops at once with one line and exit 3, or waits with --wait", async () => {
    const ws = await heldAccount(2)
    const first = spawn(process.execPath, [SOURCE_BIN, "run", "--account", "demo", "--execute"], {
      cwd: ws.dir,
      stdio: "ignore"
    })
    const deadline = Date.now() + 20_000
    while (newestRun(ws)?.step !== "sell-wait" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    const holder = newestRun(ws)?.id
    const second = await ws.run(["run", "--account", "demo", "--execute"])
    expect(second.code).toBe(3)
    expect(singleLine(second.stderr)).toMatch(
      new RegExp(
        `^account demo is being rebalanced by run ${holder} since \\d\\d:\\d\\d:\\d\\d \\(pid ${first.pid}\\)$`
      )
    )
    expect(second.stdout).toBe("")
    const waited = await ws.run(["run", "--account", "demo", "--execute", "--wait", "60"])
    expect(await exited(first)).toBe(0)
    expect(waited.code, waited.stderr).toBe(0)
    // The one that waited began only once the first had ended: the two never traded at once.
    const times = rows(ws.path(STORE), "SELECT id, started_at, finished_at FROM runs ORDER BY started_at")
    const firstRun = times.find((r) => r["id"] === holder)
    const waitedRun = times.at(-1)
    expect(waitedRun?.["id"]).not.toBe(holder)
    expect(Number(waitedRun?.["started_at"])).toBeGreaterThanOrEqual(Number(firstRun?.["finished_at"]))
  }, 90_000)
})

describe("deleting Keel's store", () => {
  it("leaves the paper account as it was; the next run says the store is new and plans from the venue", async () => {
    const ws = await heldAccount(0)
    const before = await ws.run(["positions", "--account", "demo", "--json"])
    rmSync(ws.path(STORE))
    const after = await ws.run(["positions", "--account", "demo", "--json"])
    expect(after.code, after.stderr).toBe(0)
    expect(after.stdout).toBe(before.stdout)
    const run = await ws.run(["run", "--account", "demo", "--json"])
    expect(run.code, run.stderr).toBe(0)
    expect(parseJson<OutcomeJson>(run.stdout).summary.warnings).toContain(
      "the store knows no earlier run of demo (it is new): the venue's positions and open orders are taken as they are"
    )
  }, 60_000)
})

/**
 * `rebalance ARGS` as a process that file permissions bind: as root, without the capabilities that
 * let root write anything (util-linux's setpriv drops them); as any other user, as itself.
 */
const runBound = (ws: Workspace, args: ReadonlyArray<string>) => {
  const command = [process.execPath, SOURCE_BIN, ...args]
  const [file, ...rest] = process.getuid?.() === 0
    ? ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", ...command]
    : command
  const result = spawnSync(file!, rest, { cwd: ws.dir, encoding: "utf8" })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe("store faults", () => {
  it("a store that may not be written: one line naming the database and the cause, exit 3, nothing sent", async () => {
    const ws = workspace("keel-recover-")
    workspaces.push(ws)
    // No store yet, in a folder that may not be written.
    mkdirSync(ws.path(".keel"), { mode: 0o555 })
    const folder = runBound(ws, ["run", "--account", "demo", "--execute"])
    expect([folder.code, folder.stdout, folder.stderr]).toEqual([3, "", `${STORE}: open: permission denied\n`])
    // A store file that may not be written.
    chmodSync(ws.path(".keel"), 0o755)
    expect((await ws.run(["run", "--account", "demo"])).code).toBe(0)
    chmodSync(ws.path(STORE), 0o444)
    const file = runBound(ws, ["run", "--account", "demo", "--execute"])
    expect([file.code, file.stdout, file.stderr]).toEqual([3, "", `${STORE}: open: permission denied\n`])
    // A store its owner may write, in a folder it may not: SQLite cannot keep its write-ahead log there.
    chmodSync(ws.path(STORE), 0o644)
    chmodSync(ws.path(".keel"), 0o555)
    const log = runBound(ws, ["run", "--account", "demo", "--execute"])
    chmodSync(ws.path(".keel"), 0o755)
    expect([log.code, log.stdout, log.stderr]).toEqual([3, "", `${STORE}: open: database is read-only\n`])
    expect(rows(ws.path(BOOKS), "SELECT id FROM paper_orders")).toEqual([])
  })

  it("a store path that is a folder: one line naming it, exit 2, nothing written", async () => {
    const ws = workspace("keel-recover-")
    workspaces.push(ws)
    mkdirSync(ws.path(STORE), { recursive: true })
    const result = await ws.run(["run", "--account", "demo", "--execute"])
    expect(result.code).toBe(2)
    expect(singleLine(result.stderr)).toBe(`${STORE}: expected a database file, got a folder`)
    expect(ws.files("artifacts")).toEqual([])
  })

  it.each([
    ["a store folder that cannot be made (.keel is a file)", (ws: Workspace) => ws.write(".keel", "not a folder")],
    ["a store file that is not a database", (ws: Workspace) => {
      mkdirSync(ws.path(".keel"))
      ws.write(STORE, "garbage, not SQLite ".repeat(400))
    }]
  ])("%s: one line naming the database and the cause, exit 3, nothing sent", async (_, damage) => {
    const ws = workspace("keel-recover-")
    workspaces.push(ws)
    damage(ws)
    const result = await ws.run(["run", "--account", "demo", "--execute"])
    expect(result.code).toBe(3)
    expect(singleLine(result.stderr)).toMatch(new RegExp(`^${STORE.replace(".", "\\.")}: open: \\S`))
    expect(result.stdout).toBe("")
    expect(existsSync(ws.path(BOOKS))).toBe(false)
  })
})
