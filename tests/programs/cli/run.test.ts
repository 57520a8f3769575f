/**
 * `rebalance run`, `status`, `history`, `positions` and `demo` as real processes: the
 * bundled paper account copied into a temp directory, a real SQLite file under .keel/,
 * real artifact folders. Expected numbers are worked out by hand in the comments.
 *
 * The market (examples/quotes.csv; the paper broker charges 2 bp slippage and 0.005 per share):
 *   BND  72.48 / 72.52, GLD 215.30 / 215.50, VTI 245.10 / 245.20, VXUS 61.30 / 61.36
 * A new paper account holds 100000 cash. Buys are sized at the ask, so the plan is
 *   BND 344 × 72.52 = 24946.88, GLD 37 × 215.50 = 7973.50, VTI 184 × 245.20 = 45116.80,
 *   VXUS 325 × 61.36 = 19942.00; together 97979.18, leaving 2020.82 (reserve 1% = 1000).
 * Buys fill at the ask + 2 bp, rounded up to the cent (against the trader):
 *   BND 72.534504 → 72.54, GLD 215.5431 → 215.55, VTI 245.24904 → 245.25, VXUS 61.372272 → 61.38,
 *   costing 24953.76 + 7975.35 + 45126 + 19948.50 = 98003.61, plus 890 shares × 0.005 = 4.45
 *   commission: cash after = 100000 − 98003.61 − 4.45 = 1991.94. Average cost = fill + 0.005.
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { RunStep } from "../../../src/effects/Store.ts"
import {
  EXAMPLE_FILES,
  EXAMPLES,
  firstAccount,
  type HistoryJson,
  type OutcomeJson,
  parseJson,
  type PlanJson,
  type PositionsJson,
  readCsv,
  type ResultJson,
  singleLine,
  type StatusJson,
  type TargetsJson,
  type Workspace,
  workspace
} from "../../support/cli.ts"

const workspaces: Array<Workspace> = []
const fresh = (files?: ReadonlyArray<string>): Workspace => {
  const ws = workspace("keel-run-cli-", files)
  workspaces.push(ws)
  return ws
}
afterAll(() => {
  for (const ws of workspaces) ws.cleanup()
})

/** An executed run that completes reaches every step, in order. */
const EXECUTE_STEPS = RunStep.literals
const PREVIEW_STEPS = ["load", "recover", "snapshot", "guards", "plan", "done"]

/** The plan for a new account (see the header), in plan.json's order. */
const FIRST_ORDERS = [
  { symbol: "BND", side: "buy", quantity: "344", price: "72.52", value: "24946.88", phase: "buy" },
  { symbol: "GLD", side: "buy", quantity: "37", price: "215.5", value: "7973.5", phase: "buy" },
  { symbol: "VTI", side: "buy", quantity: "184", price: "245.2", value: "45116.8", phase: "buy" },
  { symbol: "VXUS", side: "buy", quantity: "325", price: "61.36", value: "19942", phase: "buy" }
]
const FILL_PRICES: Readonly<Record<string, string>> = { BND: "72.54", GLD: "215.55", VTI: "245.25", VXUS: "61.38" }

/** `artifacts/demo/<UTC day>/<run id>`, the day being the run id's own (both UTC). */
const expectArtifactsPath = (path: string, runId: string): void => {
  const day = `${runId.slice(0, 4)}-${runId.slice(4, 6)}-${runId.slice(6, 8)}`
  expect(path).toBe(`artifacts/demo/${day}/${runId}`)
}

const RUN_ID = /\d{8}T\d{6}-[0-9a-z]{4}/.source

describe("one paper account through run, status, history and positions (in order: each step continues the last)", () => {
  const ws = fresh()
  const config = ws.path("keel.yaml")
  const ids: { preview?: string; execute?: string; third?: string } = {}
  let executed: OutcomeJson | undefined

  it("a preview exits 0, prints the plan, creates .keel/keel.db and the four artifacts, and places no orders", async () => {
    expect(ws.exists(".keel")).toBe(false)
    const r = await ws.run(["run", "--account", "demo", "--config", config])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const lines = r.stdout.split("\n")
    const headline = new RegExp(
      `^Keel preview demo \\((${RUN_ID})\\) completed; orders placed 0, filled 0, failed 0; cash 100000 → 2020\\.82$`
    )
    const id = headline.exec(lines[0] ?? "")?.[1]
    expect(id, lines[0]).toBeDefined()
    if (id !== undefined) ids.preview = id
    expect(lines).toContain(`Run ${id} (demo, preview): completed`)
    expect(lines).toContain("Equity 100000")
    expect(lines).toContainEqual(expect.stringMatching(/^BND +0\.00% → 25\.00% +buy +below target +344 +24946\.88$/))
    expect(lines).toContainEqual(expect.stringMatching(/^GLD +0\.00% → 8\.00% +buy +below target +37 +7973\.5$/))
    expect(lines).toContainEqual(expect.stringMatching(/^VTI +0\.00% → 45\.00% +buy +below target +184 +45116\.8$/))
    expect(lines).toContainEqual(expect.stringMatching(/^VXUS +0\.00% → 20\.00% +buy +below target +325 +19942$/))
    expect(lines).toContain("Cash: before 100000, after 2020.82, reserve 1000")
    // A preview places nothing: no "Orders:" section.
    expect(lines).not.toContain("Orders:")

    const artifacts = /^Artifacts: (.*)$/.exec(lines.find((l) => l.startsWith("Artifacts: ")) ?? "")?.[1] ?? ""
    expectArtifactsPath(artifacts, id ?? "")
    expect(ws.files()).toEqual(
      [
        ".keel/keel.db",
        ".keel/paper/demo.db",
        ...EXAMPLE_FILES,
        ...["orders.csv", "plan.json", "result.json", "targets.json"].map((f) => `${artifacts}/${f}`)
      ].sort()
    )
    const plan = JSON.parse(ws.read(`${artifacts}/plan.json`)) as PlanJson
    expect(plan.orders).toEqual(FIRST_ORDERS)
    expect(plan.cash).toEqual({ before: "100000", after: "2020.82", reserve: "1000" })
    // orders.csv: the header and no order.
    expect(ws.read(`${artifacts}/orders.csv`).trimEnd().split("\n")).toHaveLength(1)
    const result = JSON.parse(ws.read(`${artifacts}/result.json`)) as ResultJson
    expect(result.run).toMatchObject({ id, account: "demo", mode: "preview", status: "completed", step: "done" })
    expect(result.summary.orders).toEqual({ placed: 0, filled: 0, failed: 0 })
    const targets = JSON.parse(ws.read(`${artifacts}/targets.json`)) as TargetsJson
    expect(targets.weights).toEqual(
      [["BND", "0.25"], ["GLD", "0.08"], ["VTI", "0.45"], ["VXUS", "0.2"]].map(([symbol, weight]) => ({
        symbol,
        weight,
        strategy: null,
        attribution: []
      }))
    )
    expect(targets.cash).toBe("0.02")

    // Nothing reached the paper account.
    const positions = await ws.run(["positions", "--account", "demo", "--json", "--config", config])
    expect(positions.code).toBe(0)
    expect(parseJson<PositionsJson>(positions.stdout)).toEqual({
      account: "demo",
      cash: "100000",
      realizedPnl: "0",
      positions: []
    })
  })

  it("--execute --json exits 0 with exactly one JSON object on stdout: every order filled, the artifacts folder written", async () => {
    const r = await ws.run(["run", "--account", "demo", "--config", config, "--execute", "--json"])
    expect(r.code).toBe(0)
    expect(r.stdout.startsWith("{")).toBe(true)
    expect(r.stdout.endsWith("}\n")).toBe(true)
    const out = parseJson<OutcomeJson>(r.stdout)
    executed = out
    ids.execute = out.run.id
    // With stdout carrying JSON, the console notifier's summary goes to stderr.
    expect(singleLine(r.stderr)).toBe(
      `Keel execute demo (${out.run.id}) completed; orders placed 4, filled 4, failed 0; cash 100000 → 1991.94`
    )
    expect(out.run).toMatchObject({ account: "demo", mode: "execute", status: "completed", step: "done" })
    expect(out.run.id).not.toBe(ids.preview)
    expect(out.summary).toEqual({
      runId: out.run.id,
      account: "demo",
      mode: "execute",
      status: "completed",
      step: "done",
      orders: { placed: 4, filled: 4, failed: 0 },
      cash: { before: "100000", after: "1991.94" },
      // All cash at the start: the largest gap is VTI's 45%. At the end, at the plan's mid prices
      // (BND 72.50, GLD 215.40, VTI 245.15, VXUS 61.33) equity is 99941.59 and VTI's 184 shares
      // weigh 45107.60 / 99941.59 = 0.4513396…: 0.00134 over its target, the largest gap.
      drift: { before: "0.45", after: "0.00134" },
      warnings: [],
      errors: {}
    })
    // The orders are the preview's plan, all filled in full at the hand-computed prices.
    expect(out.plan?.orders).toEqual(FIRST_ORDERS)
    expect(out.orders.map((o) => [o.phase, o.side, o.symbol, o.quantity])).toEqual(
      FIRST_ORDERS.map((o) => [o.phase, o.side, o.symbol, o.quantity])
    )
    for (const o of out.orders) {
      expect(o).toMatchObject({
        status: "filled",
        filledQuantity: o.quantity,
        averageFillPrice: FILL_PRICES[o.symbol],
        reason: null
      })
      expect(o.clientOrderId.startsWith(`${out.run.id}-`)).toBe(true)
    }
    expect(out.discrepancies).toEqual([])

    expectArtifactsPath(out.artifacts, out.run.id)
    expect(ws.files(out.artifacts)).toEqual(
      ["orders.csv", "plan.json", "result.json", "targets.json"].map((f) => `${out.artifacts}/${f}`)
    )
    const rows = readCsv(ws.read(`${out.artifacts}/orders.csv`))
    expect(rows).toHaveLength(out.orders.length)
    expect(rows.map((row) => row["client_order_id"])).toEqual(out.orders.map((o) => o.clientOrderId))
    for (const row of rows) {
      expect(row).toMatchObject({
        status: "filled",
        filled_quantity: row["quantity"],
        average_fill_price: FILL_PRICES[row["symbol"] ?? ""]
      })
    }
    const result = JSON.parse(ws.read(`${out.artifacts}/result.json`)) as ResultJson
    expect(result.run).toEqual(out.run)
    expect(result.summary).toEqual(out.summary)
  })

  it("a third --execute continues from the persisted paper account: same holdings, nothing to trade", async () => {
    const r = await ws.run(["run", "--account", "demo", "--config", config, "--execute", "--json"])
    expect(r.code).toBe(0)
    const out = parseJson<OutcomeJson>(r.stdout)
    ids.third = out.run.id
    expect(out.run.status).toBe("completed")
    expect(out.summary.cash).toEqual({ before: "1991.94", after: "1991.94" })
    // Equity at the mid: 1991.94 + 344 × 72.50 + 37 × 215.40 + 184 × 245.15 + 325 × 61.33
    //   = 1991.94 + 24940 + 7969.8 + 45107.6 + 19932.25 = 99941.59; every weight is within its band.
    expect(out.plan?.equity).toBe("99941.59")
    expect(out.plan?.plan.map((l) => [l.symbol, l.quantity, l.action, l.reason])).toEqual([
      ["BND", "344", "hold", "within-band"],
      ["GLD", "37", "hold", "within-band"],
      ["VTI", "184", "hold", "within-band"],
      ["VXUS", "325", "hold", "within-band"]
    ])
    expect(out.orders).toEqual([])
    expect(readCsv(ws.read(`${out.artifacts}/orders.csv`))).toEqual([])
  })

  it("status (the latest run) prints its steps in order, ending in done", async () => {
    // No --config: keel.yaml in the working directory.
    const r = await ws.run(["status"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const lines = r.stdout.split("\n")
    expect(lines[0]).toBe(`Run ${ids.third} (demo, execute): completed, last step done`)
    const steps = lines.flatMap((l) => /^ {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}(\S+)/.exec(l)?.[1] ?? [])
    expect(steps).toEqual(EXECUTE_STEPS)
    // The third run placed nothing.
    expect(lines).not.toContain("Order intents:")
  })

  it("status RUN --json shows that run's steps in order and its order intents", async () => {
    const r = await ws.run(["status", ids.execute ?? "?", "--json", "--config", config])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const status = parseJson<StatusJson>(r.stdout)
    expect(status.run).toEqual({ ...executed?.run, reason: null })
    expect(status.steps.map((s) => s.step)).toEqual(EXECUTE_STEPS)
    const times = status.steps.map((s) => s.at)
    expect(times).toEqual([...times].sort((a, b) => a - b))
    expect(status.steps[0]?.detail).toEqual({ account: "demo" })
    expect(status.steps.find((s) => s.step === "buy-phase")?.detail).toEqual({ orders: 4 })
    expect(status.intents.map((i) => i.clientOrderId)).toEqual(executed?.orders.map((o) => o.clientOrderId))
    for (const intent of status.intents) {
      const order = executed?.orders.find((o) => o.clientOrderId === intent.clientOrderId)
      expect(intent).toEqual({ ...order, brokerOrderId: expect.any(String) as unknown })
    }

    const preview = await ws.run(["status", ids.preview ?? "?", "--json"])
    expect(preview.code).toBe(0)
    const previewStatus = parseJson<StatusJson>(preview.stdout)
    expect(previewStatus.run).toMatchObject({ id: ids.preview, mode: "preview", status: "completed", step: "done" })
    expect(previewStatus.steps.map((s) => s.step)).toEqual(PREVIEW_STEPS)
    expect(previewStatus.intents).toEqual([])
  })

  it("history --json lists the runs newest first; --limit and --account filter them", async () => {
    const r = await ws.run(["history", "--json", "--config", config])
    expect(r.code).toBe(0)
    const runs = parseJson<HistoryJson>(r.stdout)
    expect(runs.map((x) => [x.id, x.mode, x.status, x.step])).toEqual([
      [ids.third, "execute", "completed", "done"],
      [ids.execute, "execute", "completed", "done"],
      [ids.preview, "preview", "completed", "done"]
    ])
    const started = runs.map((x) => x.startedAt)
    expect(started).toEqual([...started].sort((a, b) => b - a))

    const limited = await ws.run(["history", "--json", "--limit", "1"])
    expect(parseJson<HistoryJson>(limited.stdout).map((x) => x.id)).toEqual([ids.third])
    const other = await ws.run(["history", "--json", "--account", "someone-else"])
    expect(other.code).toBe(0)
    expect(parseJson<HistoryJson>(other.stdout)).toEqual([])
  })

  it("positions --json shows the held quantities with average cost (commission included) and realized P&L", async () => {
    const r = await ws.run(["positions", "--account", "demo", "--json", "--config", config])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const report = parseJson<PositionsJson>(r.stdout)
    expect(report).toMatchObject({ account: "demo", cash: "1991.94", realizedPnl: "0" })
    expect(report.positions.map((p) => [p.symbol, p.quantity, p.averageCost, p.realizedPnl])).toEqual([
      ["BND", "344", "72.545", "0"],
      ["GLD", "37", "215.555", "0"],
      ["VTI", "184", "245.255", "0"],
      ["VXUS", "325", "61.385", "0"]
    ])
    // Valued at the mid: BND 344 × 72.50 = 24940, unrealized 24940 − 344 × 72.545 = −15.48.
    expect(report.positions[0]).toMatchObject({ price: "72.5", value: "24940", unrealizedPnl: "-15.48" })
  })

  it("a later run without GLD in the targets sells it and positions shows the realized loss", async () => {
    ws.write("targets-no-gld.csv", "symbol,weight\nVTI,0.45\nVXUS,0.20\nBND,0.25\n")
    const noGld = ws.editConfig((c) => {
      firstAccount(c).targets = "targets-no-gld.csv"
    }, "keel-no-gld.yaml")
    const r = await ws.run(["run", "--account", "demo", "--config", noGld, "--execute", "--json"])
    expect(r.code).toBe(0)
    const out = parseJson<OutcomeJson>(r.stdout)
    // GLD sells at the bid − 2 bp, rounded down: 215.30 × 0.9998 = 215.25694 → 215.25.
    // Cash 1991.94 + 37 × 215.25 − 37 × 0.005 = 9956.005.
    expect(out.orders.map((o) => [o.phase, o.side, o.symbol, o.quantity, o.status, o.averageFillPrice])).toEqual([
      ["sell", "sell", "GLD", "37", "filled", "215.25"]
    ])
    expect(out.summary.cash).toEqual({ before: "1991.94", after: "9956.005" })

    const positions = await ws.run(["positions", "--account", "demo", "--json"])
    const report = parseJson<PositionsJson>(positions.stdout)
    // Realized: 37 × (215.25 − 0.005) − 37 × 215.555 = 7964.065 − 7975.535 = −11.47.
    expect(report).toMatchObject({ cash: "9956.005", realizedPnl: "-11.47" })
    expect(report.positions.find((p) => p.symbol === "GLD")).toMatchObject({ quantity: "0", realizedPnl: "-11.47" })
    expect(report.positions.find((p) => p.symbol === "VTI")).toMatchObject({
      quantity: "184",
      averageCost: "245.255",
      realizedPnl: "0"
    })
  })
})

describe.concurrent("where files go", () => {
  it("inputs are found next to the config file; the store and artifacts go in the working directory", async () => {
    const ws = fresh([])
    mkdirSync(ws.path("conf"))
    for (const name of EXAMPLE_FILES) copyFileSync(join(EXAMPLES, name), ws.path(`conf/${name}`))
    const r = await ws.run(["run", "--account", "demo", "--config", "conf/keel.yaml", "--json"])
    expect(r.code).toBe(0)
    const out = parseJson<OutcomeJson>(r.stdout)
    // The paper venue's books are its own file, beside Keel's store, like the store relative to the working directory.
    expect(ws.files(".keel")).toEqual([".keel/keel.db", ".keel/paper/demo.db"])
    expect(ws.files("artifacts")).toHaveLength(4)
    expect(ws.exists(out.artifacts)).toBe(true)
    expect(ws.files("conf")).toEqual(EXAMPLE_FILES.map((f) => `conf/${f}`).sort())
  })
})

describe("rebalance demo", () => {
  it("in an empty directory: exit 0, the preview then the execution, and .keel/keel.db created there", async () => {
    const ws = fresh([])
    const examplesBefore = readdirSync(EXAMPLES).sort()
    const r = await ws.run(["demo"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const preview = r.stdout.indexOf("== Preview ==")
    const execute = r.stdout.indexOf("== Execute ==")
    expect(preview).toBeGreaterThanOrEqual(0)
    expect(execute).toBeGreaterThan(preview)
    expect(r.stdout.slice(preview, execute)).toMatch(
      new RegExp(`Keel preview demo \\(${RUN_ID}\\) completed; orders placed 0,`)
    )
    expect(r.stdout.slice(execute)).toMatch(
      new RegExp(
        `Keel execute demo \\(${RUN_ID}\\) completed; orders placed 4, filled 4, failed 0; cash 100000 → 1991\\.94`
      )
    )
    expect(ws.exists(".keel/keel.db")).toBe(true)
    // Two runs' artifacts, four files each, in this directory; nothing written next to the bundled config.
    expect(ws.files("artifacts")).toHaveLength(8)
    expect(readdirSync(EXAMPLES).sort()).toEqual(examplesBefore)

    // The store is the default one, so status and history work here without a keel.yaml,
    // and a second demo continues from the first: nothing left to trade.
    const again = await ws.run(["demo"])
    expect(again.code).toBe(0)
    expect(again.stdout.slice(again.stdout.indexOf("== Execute =="))).toMatch(
      /Keel execute demo \(.*\) completed; orders placed 0, filled 0, failed 0; cash 1991\.94 → 1991\.94/
    )
    const history = await ws.run(["history", "--json"])
    expect(history.code).toBe(0)
    expect(parseJson<HistoryJson>(history.stdout).map((x) => x.mode)).toEqual([
      "execute",
      "preview",
      "execute",
      "preview"
    ])
  })
})

interface InvalidCase {
  readonly name: string
  /** Prepares the workspace and returns the arguments. */
  readonly setup: (ws: Workspace) => Array<string>
  readonly message: string | RegExp | ((ws: Workspace) => string)
  readonly env?: Readonly<Record<string, string | undefined>>
}

const run = (config = "keel.yaml", account = "demo"): Array<string> => ["run", "--account", account, "--config", config]

const invalid: ReadonlyArray<InvalidCase> = [
  {
    name: "a missing keel.yaml (the default path)",
    setup: (ws) => {
      rmSync(ws.path("keel.yaml"))
      return ["run", "--account", "demo"]
    },
    message: "keel.yaml: cannot read the config file (use --config FILE)"
  },
  {
    name: "a missing --config file",
    setup: () => run("elsewhere/keel.yaml"),
    message: "elsewhere/keel.yaml: cannot read the config file (use --config FILE)"
  },
  {
    name: "a YAML syntax error",
    setup: (ws) =>
      run(ws.write("broken.yaml", "accounts:\n  - name: demo\n    broker: [kind: paper\n    targets: targets.csv\n")),
    message: /^broken\.yaml: invalid YAML: .* at line \d+, column \d+$/
  },
  {
    name: "an unknown field in an account",
    setup: (ws) =>
      run(
        ws.editConfig((c) => {
          firstAccount(c)["openOrdrs"] = "cancel"
        }, "typo.yaml")
      ),
    message: /^typo\.yaml: accounts\[0\]\.openOrdrs: expected .+, got .+$/
  },
  {
    name: "a wrong broker kind",
    setup: (ws) =>
      run(
        ws.editConfig((c) => {
          firstAccount(c).broker["kind"] = "ibkr"
        }, "ibkr.yaml")
      ),
    message: /^ibkr\.yaml: accounts\[0\]\.broker\.kind: expected "paper" or "alpaca", got "ibkr"$/
  },
  {
    name: "a missing required field",
    setup: (ws) =>
      run(
        ws.editConfig((c) => {
          delete (firstAccount(c) as { targets?: unknown }).targets
        }, "no-targets.yaml")
      ),
    message: /^no-targets\.yaml: accounts\[0\]\.targets: expected this required field, got nothing$/
  },
  {
    name: "a poll interval of 0 seconds (it would poll the broker in a tight loop)",
    setup: (ws) =>
      run(
        ws.editConfig((c) => {
          c.timeouts = { pollSeconds: 0 }
        }, "poll.yaml")
      ),
    message: "poll.yaml: timeouts.pollSeconds: expected a number of seconds above 0, got 0"
  },
  {
    name: "a negative fill timeout",
    setup: (ws) =>
      run(
        ws.editConfig((c) => {
          c.timeouts = { fillSeconds: -5, pollSeconds: 1 }
        }, "fill.yaml")
      ),
    message: "fill.yaml: timeouts.fillSeconds: expected a number of seconds above 0, got -5"
  },
  {
    name: "an unknown --account name",
    setup: () => run("keel.yaml", "nobody"),
    message: "keel.yaml: accounts: expected an account named \"nobody\" (known: demo)"
  },
  {
    name: "a targets file with a negative weight (names the targets file, next to the config)",
    setup: (ws) => {
      ws.write("negative.csv", "symbol,weight\nVTI,0.45\nBND,-0.25\n")
      return run(
        ws.editConfig((c) => {
          firstAccount(c).targets = "negative.csv"
        }, "negative.yaml")
      )
    },
    message: (ws) => `${ws.path("negative.csv")}: line 3, weight: expected a fraction between 0 and 1, got "-0.25"`
  },
  {
    name: "an inline policy with an unknown field",
    setup: (ws) =>
      run(
        ws.editConfig((c) => {
          firstAccount(c).policy = { cashReserve: 0.01, driftBnad: 0.02 }
        }, "inline.yaml")
      ),
    message:
      /^inline\.yaml: accounts\[0\]\.policy\.driftBnad: expected a policy field \(.*driftBand.*\), got "driftBnad"$/
  },
  {
    name: "a missing quotes file (a paper broker config error)",
    setup: (ws) =>
      run(
        ws.editConfig((c) => {
          firstAccount(c).broker["quotes"] = "no-quotes.csv"
        }, "no-quotes.yaml")
      ),
    message: (ws) =>
      `paper broker: cannot read quote file ${ws.path("no-quotes.csv")}: ENOENT: no such file or directory, stat '${
        ws.path("no-quotes.csv")
      }'`
  },
  {
    name: "a missing webhook environment variable (one line, naming the file and the variable)",
    setup: (ws) =>
      run(
        ws.editConfig((c) => {
          c.notifiers = ["console", { webhook: { urlEnv: "KEEL_TEST_MISSING_HOOK" } }]
        }, "hook.yaml")
      ),
    env: { KEEL_TEST_MISSING_HOOK: undefined },
    message: /^hook\.yaml: .*KEEL_TEST_MISSING_HOOK.*$/
  },
  {
    name: "a missing --account flag",
    setup: () => ["run", "--config", "keel.yaml"],
    message: "rebalance run: expected --account NAME, --all, --accounts a,b or --group NAME"
  },
  {
    name: "status with no runs recorded",
    setup: () => ["status", "--config", "keel.yaml"],
    message: "run: no runs recorded yet"
  },
  {
    name: "status of an unknown run",
    setup: () => ["status", "20000101T000000-zzzz", "--config", "keel.yaml"],
    message: "run: expected a known run id, got \"20000101T000000-zzzz\""
  },
  {
    name: "positions of an unknown account",
    setup: () => ["positions", "--account", "nobody", "--config", "keel.yaml"],
    message: "keel.yaml: accounts: expected an account named \"nobody\" (known: demo)"
  }
]

describe.concurrent("invalid config or input: exit 2, exactly one stderr line naming the file and the field, no run", () => {
  for (const c of invalid) {
    it(c.name, async () => {
      const ws = fresh()
      const args = c.setup(ws)
      const r = await ws.run(args, c.env)
      const line = singleLine(r.stderr)
      const message = typeof c.message === "function" ? c.message(ws) : c.message
      if (typeof message === "string") expect(line).toBe(message)
      else expect(line).toMatch(message)
      expect(r.stdout).toBe("")
      expect(r.code).toBe(2)
      // Bad input is not a failed run: nothing is left behind for one.
      expect(ws.exists("artifacts")).toBe(false)
    })
  }

  it("a missing webhook environment variable: exit 2 naming the variable, before any run", async () => {
    const ws = fresh()
    const hook = ws.editConfig((c) => {
      c.notifiers = ["console", { webhook: { urlEnv: "KEEL_TEST_MISSING_HOOK" } }]
    }, "hook.yaml")
    for (const value of [undefined, ""]) {
      const r = await ws.run(run(hook, "demo"), { KEEL_TEST_MISSING_HOOK: value })
      expect(r.code).toBe(2)
      expect(r.stdout).toBe("")
      expect(r.stderr).toContain("KEEL_TEST_MISSING_HOOK")
      expect(ws.exists("artifacts")).toBe(false)
    }
  })

  // Config errors read like input-file errors: one "expected", an unknown field named by itself with the valid ones.
  it("config messages read like the input files': no doubled 'expected', an unknown field named by itself", async () => {
    const ws = fresh()
    const typo = ws.editConfig((c) => {
      firstAccount(c)["openOrdrs"] = "cancel"
    }, "typo.yaml")
    const kind = ws.editConfig((c) => {
      firstAccount(c).broker["kind"] = "alpaca"
    }, "alpaca.yaml")
    const wrong = ws.editConfig((c) => {
      firstAccount(c).broker["kind"] = "ibkr"
    }, "ibkr.yaml")
    const [a, b, c] = await Promise.all([ws.run(run(typo)), ws.run(run(kind)), ws.run(run(wrong))])
    expect(singleLine(a.stderr)).toMatch(
      /^typo\.yaml: accounts\[0\]\.openOrdrs: expected an account field \(.*openOrders.*\), got "openOrdrs"$/
    )
    // A paper field on an alpaca broker is named by itself, with the fields an alpaca broker has.
    expect(singleLine(b.stderr)).toMatch(
      /^alpaca\.yaml: accounts\[0\]\.broker\.startingCash: expected an alpaca broker field \(kind, live, .*\), got "startingCash"$/
    )
    expect(singleLine(c.stderr)).toBe(
      "ibkr.yaml: accounts[0].broker.kind: expected \"paper\" or \"alpaca\", got \"ibkr\""
    )
  })
})

describe.concurrent("a run that does not complete exits 3 and says where it stopped", () => {
  const closedMarket = (ws: Workspace, name: string, timeouts?: { fillSeconds: number; pollSeconds: number }): string =>
    ws.editConfig((c) => {
      firstAccount(c).broker["marketOpen"] = "never"
      if (timeouts !== undefined) c.timeouts = timeouts
    }, name)

  it("a closed paper market without --ignore-market-hours: aborted at guards, nothing traded", async () => {
    const ws = fresh()
    const config = closedMarket(ws, "closed.yaml")
    const r = await ws.run(run(config).concat("--execute"))
    expect(r.stderr).toBe("")
    expect(r.code).toBe(3)
    expect(r.stdout).toMatch(
      new RegExp(`^Run ${RUN_ID} \\(demo, execute\\): aborted at guards: the market is closed`, "m")
    )

    const status = await ws.run(["status", "--json", "--config", config])
    expect(status.code).toBe(0)
    const s = parseJson<StatusJson>(status.stdout)
    expect(s.run).toMatchObject({ account: "demo", mode: "execute", status: "aborted", step: "guards" })
    expect(s.run.reason).toMatch(/^the market is closed/)
    expect(s.steps.map((x) => x.step)).toEqual(["load", "recover", "snapshot", "guards"])
    expect(s.intents).toEqual([])

    // The artifacts of a stopped run say where it stopped.
    const [folder] = ws.files("artifacts").filter((f) => f.endsWith("/result.json"))
    const result = JSON.parse(ws.read(folder ?? "?")) as ResultJson
    expect(result.run).toMatchObject({ id: s.run.id, status: "aborted", step: "guards", reason: s.run.reason })

    const positions = await ws.run(["positions", "--account", "demo", "--json", "--config", config])
    expect(parseJson<PositionsJson>(positions.stdout)).toMatchObject({ cash: "100000", positions: [] })
  })

  it("buys that never fill (--ignore-market-hours, market never open, fillSeconds 1): timed_out at buy-wait, intents stored", async () => {
    const ws = fresh()
    const config = closedMarket(ws, "closed.yaml", { fillSeconds: 1, pollSeconds: 1 })
    const r = await ws.run(run(config).concat("--execute", "--ignore-market-hours", "--json"))
    expect(r.code).toBe(3)
    const out = parseJson<OutcomeJson>(r.stdout)
    expect(out.run).toMatchObject({
      status: "timed_out",
      step: "buy-wait",
      reason: "4 buy order(s) not finished after 1s"
    })
    expect(out.summary).toMatchObject({
      status: "timed_out",
      step: "buy-wait",
      orders: { placed: 4, filled: 0, failed: 0 },
      errors: { timeout: 1 }
    })
    // Nothing filled, so the cash after is the cash before (not the plan's projection).
    expect(out.summary.cash).toEqual({ before: "100000", after: "100000" })
    expect(out.orders.map((o) => [o.symbol, o.quantity, o.status, o.filledQuantity])).toEqual(
      FIRST_ORDERS.map((o) => [o.symbol, o.quantity, "accepted", "0"])
    )
    expect(singleLine(r.stderr)).toMatch(/timed_out at buy-wait: 4 buy order\(s\) not finished after 1s/)

    const status = await ws.run(["status", out.run.id, "--json", "--config", config])
    expect(status.code).toBe(0)
    const s = parseJson<StatusJson>(status.stdout)
    expect(s.run).toMatchObject({ id: out.run.id, status: "timed_out", step: "buy-wait", reason: out.run.reason })
    expect(s.steps.map((x) => x.step)).toEqual(EXECUTE_STEPS.slice(0, EXECUTE_STEPS.indexOf("buy-wait") + 1))
    expect(
      s.intents.map((
        i
      ) => [i.clientOrderId, i.phase, i.side, i.symbol, i.quantity, i.status, i.filledQuantity, i.averageFillPrice])
    ).toEqual(
      out.orders.map((o) => [o.clientOrderId, "buy", "buy", o.symbol, o.quantity, "accepted", "0", null])
    )
    for (const i of s.intents) expect(i.brokerOrderId).toEqual(expect.any(String))

    // Nothing filled: the paper account still holds only its cash.
    const positions = await ws.run(["positions", "--account", "demo", "--json", "--config", config])
    expect(parseJson<PositionsJson>(positions.stdout)).toMatchObject({ cash: "100000", positions: [] })

    // The orders are still open at the paper broker (another process): an account set to
    // abort on open orders stops at the guards.
    const abort = ws.editConfig(
      (c) => {
        firstAccount(c).openOrders = "abort"
      },
      "abort.yaml",
      "closed.yaml"
    )
    const next = await ws.run(run(abort).concat("--execute", "--ignore-market-hours", "--json"))
    expect(next.code).toBe(3)
    expect(parseJson<OutcomeJson>(next.stdout).run).toMatchObject({
      status: "aborted",
      step: "recover",
      reason: `4 open order(s) of earlier run ${out.run.id}; \`rebalance recover --account demo\` cancels them`
    })

    // With the default (cancel) and an open market, the next run cancels them with a warning and completes.
    const open = ws.editConfig(
      (c) => {
        firstAccount(c).broker["marketOpen"] = "always"
      },
      "open.yaml",
      "closed.yaml"
    )
    const after = await ws.run(run(open).concat("--execute", "--json"))
    expect(after.code).toBe(0)
    const completed = parseJson<OutcomeJson>(after.stdout)
    expect(completed.summary.warnings).toContain(
      `run ${out.run.id} (timed_out at buy-wait) left orders unsettled; settled by ${completed.run.id}: ` +
        "4 order(s) found at the venue, 0 fill(s) booked, 4 intent(s) closed, 4 open order(s) cancelled"
    )
    expect(completed.summary.cash).toEqual({ before: "100000", after: "1991.94" })
    // The timed-out run's intents now say what became of their orders.
    const cancelled = parseJson<StatusJson>((await ws.run(["status", out.run.id, "--json", "--config", config])).stdout)
    expect(cancelled.run).toMatchObject({ status: "timed_out", step: "buy-wait" })
    expect(cancelled.intents.map((i) => [i.symbol, i.status, i.reason])).toEqual(
      out.orders.map((o) => [o.symbol, "canceled", "canceled by the client"])
    )
  })

  // A preview must not change the account: it only says what an execution would do with them.
  it("a preview leaves an earlier run's open orders alone", async () => {
    const ws = fresh()
    const config = closedMarket(ws, "closed.yaml", { fillSeconds: 1, pollSeconds: 1 })
    const timedOut = await ws.run(run(config).concat("--execute", "--ignore-market-hours", "--json"))
    expect(timedOut.code).toBe(3)
    const preview = await ws.run(run(config).concat("--ignore-market-hours", "--json"))
    expect(preview.code).toBe(0)
    expect(parseJson<OutcomeJson>(preview.stdout).summary.warnings).toEqual([
      `run ${parseJson<OutcomeJson>(timedOut.stdout).run.id} (timed_out at buy-wait) is not settled; ` +
      "an execution recovers it first",
      "4 open order(s) at the venue; an execution would cancel them"
    ])
    const abort = ws.editConfig(
      (c) => {
        firstAccount(c).openOrders = "abort"
      },
      "abort.yaml",
      "closed.yaml"
    )
    const next = await ws.run(run(abort).concat("--execute", "--ignore-market-hours", "--json"))
    expect(parseJson<OutcomeJson>(next.stdout).run).toMatchObject({ status: "aborted", step: "recover" })
  })
})
