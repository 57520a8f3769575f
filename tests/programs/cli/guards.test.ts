/**
 * The trading guards through `rebalance run` as a real process, on the example paper account
 * (a real SQLite store and books in a temp directory): once per trading day, the minimum
 * interval, the pre-trade risk limits and pattern day trader protection. A refusal is exit 3,
 * the run `aborted` at its step with the guard's one line; an override is let through and said.
 */
import { afterAll, describe, expect, it } from "vitest"
import {
  firstAccount,
  type OutcomeJson,
  parseJson,
  singleLine,
  type StatusJson,
  type Workspace,
  workspace
} from "../../support/cli.ts"

const workspaces: Array<Workspace> = []
afterAll(() => {
  for (const ws of workspaces) ws.cleanup()
})

/** The example account with `guards` as given (the example itself turns once per day off). */
const guarded = (guards: Record<string, unknown>, broker: Record<string, unknown> = {}): Workspace => {
  const ws = workspace("keel-guards-")
  workspaces.push(ws)
  ws.editConfig((config) => {
    config["guards"] = guards
    const account = firstAccount(config)
    account.broker = { ...account.broker, ...broker }
  })
  return ws
}

const EXECUTE = ["run", "--account", "demo", "--execute", "--json"]

/** A market day and a time of day as the guards write them, in the market's zone. */
const DAY = "\\d{4}-\\d\\d-\\d\\d"
const TIME = "\\d\\d:\\d\\d"

const outcome = (stdout: string) => parseJson<OutcomeJson>(stdout)

describe("once per trading day", () => {
  it(
    "refuses a second execution the same day, lets previews and --force through, and records the override",
    async () => {
      const ws = guarded({ oncePerDay: true })
      const first = outcome((await ws.run(EXECUTE)).stdout)
      expect(first.run.status).toBe("completed")
      const second = await ws.run(EXECUTE)
      expect(second.code).toBe(3)
      const refused = outcome(second.stdout)
      expect(refused.run).toMatchObject({ status: "aborted", step: "guards" })
      expect(refused.run.reason).toMatch(
        new RegExp(
          `^once-per-day: already executed on trading day ${DAY}: run ${first.run.id} \\(completed, placed orders\\) ` +
            `started ${DAY} ${TIME} America/New_York$`
        )
      )
      expect(refused.summary.errors).toEqual({ guard: 1 })
      expect(refused.orders).toEqual([])
      // A preview trades nothing: never limited.
      expect((await ws.run(["run", "--account", "demo"])).code).toBe(0)
      const forced = await ws.run([...EXECUTE, "--force"])
      expect(forced.code).toBe(0)
      const through = outcome(forced.stdout)
      expect(through.summary.warnings.some((w) => w.startsWith("once per trading day overridden (forced): run "))).toBe(
        true
      )
      const status = parseJson<StatusJson>((await ws.run(["status", through.run.id, "--json"])).stdout)
      expect(status.steps.find((s) => s.step === "guards")?.detail).toMatchObject({ force: true })
    },
    60_000
  )
})

describe("minimum interval", () => {
  it("refuses an execution within the interval of the last one, saying when the next may start", async () => {
    const ws = guarded({ oncePerDay: false, minIntervalMinutes: 90 })
    expect((await ws.run(["run", "--account", "demo"])).code).toBe(0)
    // A preview just before does not count: previews trade nothing.
    expect((await ws.run(EXECUTE)).code).toBe(0)
    const again = await ws.run(EXECUTE)
    expect(again.code).toBe(3)
    expect(outcome(again.stdout).run.reason).toMatch(
      new RegExp(
        `^interval: run \\S+ started ${DAY} ${TIME} America/New_York, less than 1h 30m ago; ` +
          `the next run may start at ${DAY} ${TIME} America/New_York$`
      )
    )
  }, 60_000)
})

describe("risk limits", () => {
  it(
    "refuse a plan that breaks them, naming each; a preview warns; --confirm-over-limits lets it through",
    async () => {
      const ws = guarded({ oncePerDay: false, limits: { maxOrderValue: "30000", maxWeight: "0.3" } })
      const preview = outcome((await ws.run(["run", "--account", "demo", "--json"])).stdout)
      expect(preview.run.status).toBe("completed")
      expect(preview.summary.warnings.filter((w) => w.startsWith("an execution would be refused: risk-limits: ")))
        .toHaveLength(1)
      const refused = await ws.run(EXECUTE)
      expect(refused.code).toBe(3)
      const run = outcome(refused.stdout).run
      expect(run).toMatchObject({ status: "aborted", step: "plan" })
      // VTI's 45% target breaks both: one order worth more than 30000, and a weight above 0.3.
      expect(run.reason).toMatch(/^risk-limits: .*maxOrderValue 30000: buy \d+ VTI is worth [\d.]+/)
      expect(run.reason).toMatch(/maxWeight 0\.3: buy \d+ VTI takes VTI to 0\.4\d+/)
      expect(outcome(refused.stdout).orders).toEqual([])
      const confirmed = await ws.run([...EXECUTE, "--confirm-over-limits"])
      expect(confirmed.code).toBe(0)
      expect(outcome(confirmed.stdout).summary.orders.filled).toBe(4)
    },
    60_000
  )
})

describe("pattern day trader protection", () => {
  it("refuses the sell that would be a fourth day trade in five business days on a small margin account", async () => {
    const ws = guarded({ oncePerDay: false, margin: true }, { startingCash: "20000" })
    // Bought today, then sold today one symbol at a time: each sale is a day trade.
    expect((await ws.run(EXECUTE)).code).toBe(0)
    const targets = [
      "symbol,weight\nVXUS,0.20\nBND,0.25\nGLD,0.08\n",
      "symbol,weight\nBND,0.25\nGLD,0.08\n",
      "symbol,weight\nGLD,0.08\n"
    ]
    for (const text of targets) {
      ws.write("targets.csv", text)
      const run = await ws.run(EXECUTE)
      expect(run.code, run.stderr).toBe(0)
    }
    ws.write("targets.csv", "symbol,weight\n$CASH,1\n")
    const fourth = await ws.run(EXECUTE)
    expect(fourth.code).toBe(3)
    const run = outcome(fourth.stdout).run
    expect(run).toMatchObject({ status: "aborted", step: "plan" })
    expect(run.reason).toMatch(/^day-trades: .*GLD/)
    // The same account above the equity line is not held to it.
    const rich = guarded({ oncePerDay: false, margin: true, dayTradeMinimumEquity: "10000" }, { startingCash: "20000" })
    expect((await rich.run(EXECUTE)).code).toBe(0)
    for (const text of [...targets, "symbol,weight\n$CASH,1\n"]) {
      rich.write("targets.csv", text)
      expect((await rich.run(EXECUTE)).code).toBe(0)
    }
  }, 120_000)
})

describe("the trading calendar", () => {
  const calendar = (zone: string, close = "16:00") =>
    [
      `zone: ${zone}`,
      "open: \"09:30\"",
      `close: "${close}"`,
      "years: { from: 2026, through: 2027 }",
      "holidays: [2026-12-25, 2027-01-01]",
      "earlyCloses: [{ date: 2026-12-24, close: \"13:00\" }]",
      ""
    ].join("\n")

  it("a user's file replaces NYSE's: the guards speak its zone", async () => {
    const ws = guarded({ oncePerDay: true, calendar: "tokyo.yaml" })
    ws.write("tokyo.yaml", calendar("Asia/Tokyo"))
    expect((await ws.run(EXECUTE)).code).toBe(0)
    const again = await ws.run(EXECUTE)
    expect(again.code).toBe(3)
    expect(outcome(again.stdout).run.reason).toMatch(/ Asia\/Tokyo$/)
  }, 60_000)

  it("a paper market on the calendar follows the account's file: beyond its years it never opens", async () => {
    const ws = guarded({ oncePerDay: false, calendar: "old.yaml" }, { marketOpen: "calendar" })
    ws.write(
      "old.yaml",
      calendar("America/New_York").replace("{ from: 2026, through: 2027 }", "{ from: 2020, through: 2020 }")
        .replace("holidays: [2026-12-25, 2027-01-01]", "holidays: []").replace("2026-12-24", "2020-12-24")
    )
    const refused = await ws.run(EXECUTE)
    expect(refused.code).toBe(3)
    expect(outcome(refused.stdout).run.reason).toBe("the market is closed (next open never)")
    expect((await ws.run(["run", "--account", "demo"])).code).toBe(0)
  }, 60_000)

  it("a bad calendar file is one line naming the file and the field, exit 2, before any run", async () => {
    const ws = guarded({ calendar: "bad.yaml" })
    ws.write("bad.yaml", calendar("America/New_York", "25:00"))
    const r = await ws.run(EXECUTE)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(singleLine(r.stderr)).toMatch(/^\/.*bad\.yaml: close: expected a time "HH:MM"/)
    expect(ws.exists(".keel")).toBe(false)
    ws.editConfig((config) => {
      config["guards"] = { calendar: "missing.yaml" }
    })
    const missing = await ws.run(EXECUTE)
    expect(missing.code).toBe(2)
    expect(singleLine(missing.stderr)).toMatch(/missing\.yaml: cannot read the calendar file/)
  }, 60_000)
})
