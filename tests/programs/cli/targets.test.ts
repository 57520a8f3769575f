/**
 * Targets sources through the real CLI: `rebalance targets` and `rebalance run` as
 * processes, paper accounts in temp directories, a real HTTP server on 127.0.0.1 for the
 * http sources.
 *
 * The CLI checks history freshness against today's UTC date (the real clock), so every
 * price history here is written by the test with dates counted back from today.
 *
 * The blended account, worked out by hand:
 *   core (0.7):    core.csv = VTI 0.5, BND 0.3, GLD 0.1
 *   signals (0.3): momentum "leaders" over QQQ, VTI, MTUM, XLK, 4-day returns
 *                  QQQ 100→112 +12%, VTI 100→110 +10%, MTUM 50→54 +8%, XLK 80→76 −5%; top 2 → QQQ, VTI at 0.5
 *   blended:       VTI 0.35 + 0.15 = 0.5, BND 0.21, GLD 0.07, QQQ 0.15
 *   replacement set ira (GLD → IAU; ARKK → QQQ does not match): IAU 0.07 from core
 *   → BND 0.21 [core], IAU 0.07 [core], QQQ 0.15 [signals/leaders], VTI 0.5 [core 0.35, signals/leaders 0.15]; cash 0.07
 * The regime account: SPY 100…104 over five days (3-day average 103 ≤ 104: uptrend) and
 * VIX 15 (≤ 20: low) → uptrend_low_vol → growth (growth.csv: QQQ 0.6, VTI 0.4).
 */
import { copyFileSync } from "node:fs"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterAll, assert, beforeAll, describe, expect, it } from "vitest"
import { stringify } from "yaml"
import {
  type OutcomeJson,
  parseJson,
  type PlanJson,
  readCsv,
  ROOT,
  singleLine,
  type StatusJson,
  type TargetsJson,
  type Workspace,
  workspace
} from "../../support/cli.ts"
import { listen } from "../../support/loopback.ts"

const FIXTURES = join(ROOT, "tests/fixtures/targets")
const DAY_MS = 86_400_000

/** The UTC date `n` days before today. */
const daysAgo = (n: number): string => new Date(Date.now() - n * DAY_MS).toISOString().slice(0, 10)
const TODAY = daysAgo(0)

/** `date,symbol,close` rows: each symbol's closes on consecutive days, the last `lastDaysAgo` days before today. */
const historyCsv = (series: Readonly<Record<string, ReadonlyArray<number>>>, lastDaysAgo = 0): string =>
  [
    "date,symbol,close",
    ...Object.entries(series).flatMap(([symbol, closes]) =>
      closes.map((close, i) => `${daysAgo(lastDaysAgo + closes.length - 1 - i)},${symbol},${close}`)
    )
  ].join("\n") + "\n"

const MOMENTUM = {
  QQQ: [100, 104, 103, 108, 112],
  VTI: [100, 103, 104, 108, 110],
  MTUM: [50, 51, 52, 53, 54],
  XLK: [80, 79, 78, 77, 76]
}
const REGIME = { SPY: [98, 99, 102, 103, 104], VIX: [22, 21, 17, 16, 15] }

const QUOTES = [
  "symbol,bid,ask,last",
  "VTI,245.10,245.20,245.15",
  "BND,72.48,72.52,72.50",
  "GLD,215.30,215.50,215.40",
  "IAU,40.10,40.12,40.11",
  "QQQ,480.00,480.20,480.10",
  "MTUM,190.00,190.10,190.05"
].join("\n")

const PAPER = {
  kind: "paper",
  startingCash: "100000",
  quotes: "quotes.csv",
  slippageBps: 2,
  commissionPerShare: "0.005"
}

const account = (name: string, targets: unknown, extra: Record<string, unknown> = {}) => ({
  name,
  broker: PAPER,
  targets,
  policy: "policy.yaml",
  ...extra
})

const keelYaml = (accounts: ReadonlyArray<unknown>): string =>
  stringify({ store: { sqlite: ".keel/keel.db" }, artifacts: "artifacts", notifiers: ["console"], accounts })

const FIXTURE_FILES = [
  "core.csv",
  "growth.csv",
  "defensive.csv",
  "over.csv",
  "bad-line.csv",
  "replacements.yaml",
  "regime-map.yaml"
]

const workspaces: Array<Workspace> = []
/** A temp directory with the example policy, the quotes, the fixtures and fresh histories. */
const fresh = (): Workspace => {
  const ws = workspace("keel-targets-cli-", ["policy.yaml"])
  workspaces.push(ws)
  for (const f of FIXTURE_FILES) copyFileSync(join(FIXTURES, f), ws.path(f))
  ws.write("quotes.csv", QUOTES)
  ws.write("prices.csv", historyCsv(MOMENTUM))
  ws.write("regime.csv", historyCsv(REGIME))
  return ws
}

const server = { base: "", close: async () => {} }

beforeAll(async () => {
  const started = await listen((req, res) => {
    const path = (req.url ?? "").split("?")[0]
    const [status, body] = path === "/weights"
      ? [200, { allocations: [{ symbol: "VTI", allocation: "0.7" }, { symbol: "BND", allocation: "0.3" }] }]
      : path === "/schema"
      ? [200, { allocations: [{ symbol: "VTI", allocation: "0.7" }, { symbol: "BND", allocation: "abc" }] }]
      : path === "/over"
      ? [200, { VTI: 0.50005, BND: 0.5 }]
      : [500, { error: "down" }]
    res.writeHead(status, { "content-type": "application/json" })
    res.end(JSON.stringify(body))
  })
  server.base = started.base
  server.close = started.close
})

afterAll(async () => {
  await server.close()
  for (const ws of workspaces) ws.cleanup()
})

const BLENDED = {
  blend: {
    strategies: [
      { name: "core", share: 0.7, source: { file: "core.csv" } },
      {
        name: "signals",
        share: 0.3,
        source: {
          momentum: {
            name: "leaders",
            history: "prices.csv",
            universe: ["QQQ", "VTI", "MTUM", "XLK"],
            lookbackDays: 4,
            top: 2
          }
        }
      }
    ]
  }
}
const IRA = { replacements: { file: "replacements.yaml", set: "ira" } }

const REGIME_SOURCE = {
  regime: {
    history: "regime.csv",
    benchmark: "SPY",
    trendDays: 3,
    volatilityIndex: "VIX",
    indexThreshold: 20,
    strategies: { growth: { file: "growth.csv" }, defensive: { file: "defensive.csv" } },
    map: "regime-map.yaml"
  }
}

type Weight = TargetsJson["weights"][number]

const BLENDED_WEIGHTS: ReadonlyArray<Weight> = [
  { symbol: "BND", weight: "0.21", strategy: "core", attribution: [{ strategy: "core", weight: "0.21" }] },
  { symbol: "IAU", weight: "0.07", strategy: "core", attribution: [{ strategy: "core", weight: "0.07" }] },
  {
    symbol: "QQQ",
    weight: "0.15",
    strategy: "signals/leaders",
    attribution: [{ strategy: "signals/leaders", weight: "0.15" }]
  },
  {
    symbol: "VTI",
    weight: "0.5",
    strategy: "core",
    attribution: [
      { strategy: "core", weight: "0.35" },
      { strategy: "signals/leaders", weight: "0.15" }
    ]
  }
]

describe("rebalance targets: resolved weights without a broker or a store", () => {
  const ws = fresh()
  ws.write("keel.yaml", keelYaml([account("blended", BLENDED, IRA), account("regime", REGIME_SOURCE)]))

  it("--json: weights with attribution, the substitution, the momentum ranking", async () => {
    const r = await ws.run(["targets", "--account", "blended", "--json"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const doc = parseJson<TargetsJson>(r.stdout)
    expect(doc.asOf).toBe(TODAY)
    expect(doc.weights).toEqual(BLENDED_WEIGHTS)
    expect(doc.total).toBe("0.93")
    expect(doc.cash).toBe("0.07")
    expect(doc.regime).toBeNull()
    expect(doc.substitutions).toEqual([{
      source: "GLD",
      target: "IAU",
      scale: "1",
      weightMoved: "0.07",
      weightAdded: "0.07"
    }])
    expect(doc.momentum).toEqual([
      {
        strategy: "leaders",
        ranking: [
          { rank: 1, symbol: "QQQ", return: "0.12", from: daysAgo(4), to: TODAY, weight: "0.5" },
          { rank: 2, symbol: "VTI", return: "0.1", from: daysAgo(4), to: TODAY, weight: "0.5" },
          { rank: 3, symbol: "MTUM", return: "0.08", from: daysAgo(4), to: TODAY, weight: "0" },
          { rank: 4, symbol: "XLK", return: "-0.05", from: daysAgo(4), to: TODAY, weight: "0" }
        ]
      }
    ])
    expect(doc.warnings).toEqual([])
    // No broker, no store: nothing was created.
    expect(ws.exists(".keel")).toBe(false)
    expect(ws.exists("artifacts")).toBe(false)
  })

  it("the table shows each weight's strategy and attribution, the ranking and the substitution", async () => {
    const r = await ws.run(["targets", "--account", "blended"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const lines = r.stdout.split("\n")
    expect(lines).toContainEqual(expect.stringMatching(/^SYMBOL +WEIGHT +STRATEGY +ATTRIBUTION$/))
    expect(lines).toContainEqual(expect.stringMatching(/^VTI +50\.00% +core +core 35\.00%, signals\/leaders 15\.00%$/))
    expect(lines).toContainEqual(expect.stringMatching(/^QQQ +15\.00% +signals\/leaders +signals\/leaders 15\.00%$/))
    expect(lines).toContainEqual(expect.stringMatching(/^IAU +7\.00% +core +core 7\.00%$/))
    expect(lines).toContainEqual(expect.stringMatching(/^cash +7\.00%$/))
    expect(lines).toContain("Momentum leaders:")
    expect(lines).toContain(`  1.  QQQ   12.00%  ${daysAgo(4)} → ${TODAY}  weight 50.00%`)
    expect(lines).toContain(`  4.  XLK   -5.00%  ${daysAgo(4)} → ${TODAY}  weight 0.00%`)
    expect(lines).toContain("Substitutions:")
    expect(lines).toContain("  GLD → IAU × 1: moved 0.07, added 0.07")
    expect(ws.exists(".keel")).toBe(false)
  })

  it("a regime account shows the regime, its indicators and the chosen strategy", async () => {
    const json = await ws.run(["targets", "--account", "regime", "--json"])
    expect(json.code).toBe(0)
    const doc = parseJson<TargetsJson>(json.stdout)
    expect(doc.regime).toEqual({
      regime: "uptrend_low_vol",
      strategy: "growth",
      asOf: TODAY,
      trend: { symbol: "SPY", date: TODAY, close: "104", sma: "103", days: 3, up: true },
      volatility: { measure: "index", symbol: "VIX", date: TODAY, level: "15", threshold: "20", high: false }
    })
    expect(doc.weights).toEqual([
      { symbol: "QQQ", weight: "0.6", strategy: "growth", attribution: [{ strategy: "growth", weight: "0.6" }] },
      { symbol: "VTI", weight: "0.4", strategy: "growth", attribution: [{ strategy: "growth", weight: "0.4" }] }
    ])

    const table = await ws.run(["targets", "--account", "regime"])
    expect(table.code).toBe(0)
    const lines = table.stdout.split("\n")
    expect(lines).toContain(`Regime uptrend_low_vol on ${TODAY} → strategy growth`)
    expect(lines).toContain(`  trend: SPY close 104 (${TODAY}) >= 3-day average 103`)
    expect(lines).toContain("  volatility: VIX index 15 <= 20")
    expect(lines).toContainEqual(expect.stringMatching(/^QQQ +60\.00% +growth +growth 60\.00%$/))
  })
})

describe("rebalance run on blended targets: attribution in the orders, the artifacts and the stored plan", () => {
  const ws = fresh()
  ws.write("keel.yaml", keelYaml([account("blended", BLENDED, IRA), account("blended-table", BLENDED, IRA)]))
  const byStrategy = new Map(BLENDED_WEIGHTS.map((w) => [w.symbol, w]))

  it("--execute --json: every order carries its strategy and attribution", async () => {
    const r = await ws.run(["run", "--account", "blended", "--execute", "--json"])
    expect(r.code).toBe(0)
    const out = parseJson<OutcomeJson>(r.stdout)
    expect(out.run.status).toBe("completed")
    expect(out.orders.map((o) => o.symbol).sort()).toEqual(["BND", "IAU", "QQQ", "VTI"])
    for (const o of out.orders) {
      const w = byStrategy.get(o.symbol)
      expect(o, o.symbol).toMatchObject({ status: "filled", strategy: w?.strategy, attribution: w?.attribution })
    }
    // The plan's lines and orders too.
    const planned = out.plan
    assert.isNotNull(planned)
    for (const line of [...planned.plan, ...planned.orders]) {
      const w = byStrategy.get(line.symbol)
      expect(line, line.symbol).toMatchObject({ strategy: w?.strategy, attribution: w?.attribution })
    }

    // orders.csv: strategy and attribution columns.
    const rows = readCsv(ws.read(`${out.artifacts}/orders.csv`))
    expect(ws.read(`${out.artifacts}/orders.csv`).split("\n")[0]).toMatch(/,strategy,attribution$/)
    expect(Object.fromEntries(rows.map((row) => [row["symbol"], [row["strategy"], row["attribution"]]]))).toEqual({
      BND: ["core", "core=0.21"],
      IAU: ["core", "core=0.07"],
      QQQ: ["signals/leaders", "signals/leaders=0.15"],
      VTI: ["core", "core=0.35 signals/leaders=0.15"]
    })

    // targets.json: the resolved document, attribution included.
    const targets = JSON.parse(ws.read(`${out.artifacts}/targets.json`)) as TargetsJson
    expect(targets.weights).toEqual(BLENDED_WEIGHTS)
    expect(targets.substitutions).toHaveLength(1)
    expect(targets.momentum[0]?.strategy).toBe("leaders")

    // plan.json.
    const planJson = JSON.parse(ws.read(`${out.artifacts}/plan.json`)) as PlanJson
    expect(planJson.orders.find((o) => o.symbol === "VTI")).toMatchObject({
      strategy: "core",
      attribution: byStrategy.get("VTI")?.attribution
    })

    // The Store: the run's stored plans carry the attribution.
    const db = new DatabaseSync(ws.path(".keel/keel.db"), { readOnly: true })
    try {
      const stored = db.prepare("SELECT phase, plan_json FROM plans WHERE run_id = ? ORDER BY seq").all(
        out.run.id
      ) as Array<{ phase: string; plan_json: string }>
      expect(stored.map((p) => p.phase)).toEqual(["plan", "buy-replan"])
      for (const p of stored) {
        const plan = JSON.parse(p.plan_json) as PlanJson
        expect(plan.orders.length, p.phase).toBeGreaterThan(0)
        for (const line of [...plan.plan, ...plan.orders]) {
          expect(line, `${p.phase} ${line.symbol}`).toMatchObject({
            strategy: byStrategy.get(line.symbol)?.strategy,
            attribution: byStrategy.get(line.symbol)?.attribution
          })
        }
      }
    } finally {
      db.close()
    }

    // `rebalance status` tells each order intent's strategy and attribution.
    const status = await ws.run(["status", out.run.id, "--json"])
    expect(status.code).toBe(0)
    const intents = parseJson<StatusJson>(status.stdout).intents
    expect(intents.map((i) => i.symbol).sort()).toEqual(["BND", "IAU", "QQQ", "VTI"])
    for (const i of intents) {
      expect(i, i.symbol).toMatchObject({
        strategy: byStrategy.get(i.symbol)?.strategy,
        attribution: byStrategy.get(i.symbol)?.attribution
      })
    }
  })

  it("the table output names each order's strategy", async () => {
    const r = await ws.run(["run", "--account", "blended-table", "--execute"])
    expect(r.code).toBe(0)
    const orders = r.stdout.split("\n").filter((l) => /^ {2}buy +buy /.test(l))
    expect(orders).toHaveLength(4)
    for (const line of orders) {
      const symbol = /^ {2}buy +buy +(\S+)/.exec(line)?.[1] ?? ""
      expect(line).toContain(`[${byStrategy.get(symbol)?.strategy}]`)
    }
  })
})

describe("a source that cannot be resolved: exit 2, one stderr line naming the source and the position, no run", () => {
  const ws = fresh()
  ws.write("stale.csv", historyCsv(MOMENTUM, 20))
  ws.write("regime-typo.yaml", "uptrend_low_vol: growth\nsideways: defensive\n")
  const http = (path: string) => ({ http: { url: `${server.base}${path}?apikey=abc`, retries: 1, timeoutSeconds: 2 } })
  ws.write("over5.csv", "symbol,weight\nVTI,0.50005\nBND,0.5\n")
  const momentumOn = (history: string, top = 1) => ({
    momentum: { history, universe: ["QQQ", "VTI"], lookbackDays: 4, top }
  })
  const cashBlend = (other: unknown) => ({
    blend: {
      onStrategyFailure: "cash",
      strategies: [{ name: "core", share: 0.5, source: "core.csv" }, { name: "other", share: 0.5, source: other }]
    }
  })

  const cases: ReadonlyArray<readonly [string, unknown, Record<string, unknown>, (dir: string) => string]> = [
    [
      "a missing file",
      { file: "nowhere.csv" },
      {},
      (dir) => `${dir}/nowhere.csv: cannot read the targets file: no such file`
    ],
    [
      "a bad CSV line",
      "bad-line.csv",
      {},
      (dir) => `${dir}/bad-line.csv: line 3: expected "symbol,weight", got "BND,0.30,extra"`
    ],
    [
      "weights summing above 1",
      "over.csv",
      {},
      (dir) =>
        `${dir}/over.csv: sum of weights: expected weights that sum to at most 1 (tolerance 0.000000001), got "1.05"`
    ],
    ["an HTTP error", () => http("/down"), {}, () => `${server.base}/down: HTTP 500 (2 attempts)`],
    [
      "an HTTP answer that does not match the schema",
      () => http("/schema"),
      {},
      () => `${server.base}/schema: allocations[1].allocation: expected a fraction between 0 and 1, got "abc"`
    ],
    [
      "an unknown regime in the map",
      () => ({ regime: { ...REGIME_SOURCE.regime, map: "regime-typo.yaml" } }),
      {},
      (dir) =>
        `${dir}/regime-typo.yaml: sideways: expected a regime (uptrend_low_vol, uptrend_high_vol, ` +
        `downtrend_low_vol, downtrend_high_vol), got "sideways"`
    ],
    [
      "a selected regime the map leaves out",
      () => ({ regime: { ...REGIME_SOURCE.regime, map: { downtrend_high_vol: "defensive" } } }),
      {},
      () =>
        `keel.yaml: accounts[6].targets.regime.map.uptrend_low_vol: expected a strategy for the selected regime, got nothing`
    ],
    [
      "stale history",
      momentumOn("stale.csv"),
      {},
      (dir) =>
        `${dir}/stale.csv: QQQ: expected a last close at most 5 calendar days before ${TODAY}, got "${daysAgo(20)}"`
    ],
    [
      "an unknown replacement set",
      "core.csv",
      { replacements: { file: "replacements.yaml", set: "roth" } },
      (dir) => `${dir}/replacements.yaml: roth: expected a defined replacement set (ira, taxable), got "roth"`
    ],
    [
      "a failing strategy of a blend",
      {
        blend: {
          strategies: [{ name: "core", share: 0.5, source: "core.csv" }, {
            name: "satellite",
            share: 0.5,
            source: { file: "nowhere.json" }
          }]
        }
      },
      {},
      (dir) =>
        `keel.yaml: accounts[9].targets.blend: strategy satellite failed: ${dir}/nowhere.json: cannot read the targets file: no such file`
    ],
    [
      "a resolved symbol the policy excludes",
      "growth.csv",
      { policy: { exclude: ["QQQ"] } },
      () => `keel.yaml: accounts[10].targets (QQQ): expected a symbol that the policy does not exclude, got "QQQ"`
    ],
    [
      "a file within 0.0001 of 1 but above the policy's weightTolerance",
      "over5.csv",
      {},
      (dir) =>
        `${dir}/over5.csv: sum of weights: expected weights that sum to at most 1 (tolerance 0.000000001), got "1.00005"`
    ],
    [
      "a configuration error in an onStrategyFailure: cash blend (momentum.top: 0)",
      cashBlend(momentumOn("prices.csv", 0)),
      {},
      () =>
        "keel.yaml: accounts[12].targets.blend.strategies[1].source.momentum.top: expected a whole number, at least 1, got 0"
    ],
    [
      "an unknown regime in a cash blend's regime map",
      cashBlend({ regime: { ...REGIME_SOURCE.regime, map: { uptrend_low_vol: "growth", sideways: "defensive" } } }),
      {},
      () =>
        "keel.yaml: accounts[13].targets.blend.strategies[1].source.regime.map.sideways: expected a regime " +
        "(uptrend_low_vol, uptrend_high_vol, downtrend_low_vol, downtrend_high_vol), got \"sideways\""
    ],
    [
      "every strategy of a cash blend failing",
      { blend: { onStrategyFailure: "cash", strategies: [{ name: "only", share: 1, source: "nowhere.csv" }] } },
      {},
      (dir) =>
        `keel.yaml: accounts[14].targets.blend: expected at least one strategy that produced targets ` +
        `(onStrategyFailure: cash keeps a failed strategy's share in cash, never the whole account), got ` +
        `none: strategy only failed: ${dir}/nowhere.csv: cannot read the targets file: no such file`
    ]
  ]

  // The http sources need the server's port, known once it listens.
  beforeAll(() => {
    ws.write(
      "keel.yaml",
      keelYaml(
        cases.map(([, targets, extra], i) =>
          account(`bad${i}`, typeof targets === "function" ? (targets as () => unknown)() : targets, extra)
        )
      )
    )
  })

  for (const [i, [name, , , message]] of cases.entries()) {
    it(`${name}: targets and run --execute both refuse`, async () => {
      const [targets, run] = await Promise.all([
        ws.run(["targets", "--account", `bad${i}`]),
        ws.run(["run", "--account", `bad${i}`, "--execute"])
      ])
      for (const r of [targets, run]) {
        expect(singleLine(r.stderr)).toBe(message(ws.dir))
        expect(r.stdout).toBe("")
        expect(r.code).toBe(2)
      }
    })
  }

  it("a source that is wrong in keel.yaml itself names the field", async () => {
    const configs: ReadonlyArray<readonly [unknown, string]> = [
      [
        {
          blend: {
            strategies: [{ name: "a", share: 1, source: { http: { url: `${server.base}/weights`, retries: -1 } } }]
          }
        },
        "accounts[0].targets.blend.strategies[0].source.http.retries: expected a whole number from 0 to 10, got -1"
      ],
      [
        { http: { url: "signals.example.com/weights" } },
        "accounts[0].targets.http.url: expected an http(s) URL, got \"signals.example.com/weights\""
      ],
      [
        { momentum: { history: "prices.csv", universe: ["QQQ"], lookback: 20 } },
        "accounts[0].targets.momentum.lookback: expected a momentum source field (name, history, universe, " +
        "lookbackDays, top, weighting, positiveOnly, maxStaleDays), got \"lookback\""
      ],
      [
        { regime: { history: "regime.csv", strategies: { growth: "growth.csv" } } },
        "accounts[0].targets.regime.map: expected a value (required), got nothing"
      ],
      [
        { file: "core.csv", http: { url: `${server.base}/weights` } },
        "accounts[0].targets: expected a targets file, or one of { file }, { http }, { blend }, { regime }, { momentum }, got an object"
      ],
      // A file of the wrong kind is a mistake in keel.yaml, found when it is read (so never a strategy's load failure).
      [
        "weights.txt",
        "accounts[0].targets: expected a targets file ending in .json, .yaml, .yml or .csv, got \"weights.txt\""
      ],
      [
        {
          blend: { onStrategyFailure: "cash", strategies: [{ name: "a", share: 1, source: { file: "weights.txt" } }] }
        },
        "accounts[0].targets.blend.strategies[0].source.file: expected a targets file ending in .json, " +
        ".yaml, .yml or .csv, got \"weights.txt\""
      ],
      [
        { momentum: { history: "prices.json", universe: ["QQQ"] } },
        "accounts[0].targets.momentum.history: expected a history file ending in .csv, got \"prices.json\""
      ],
      [
        { regime: { ...REGIME_SOURCE.regime, map: "map.txt" } },
        "accounts[0].targets.regime.map: expected a regime map file ending in .json, .yaml or .yml, got \"map.txt\""
      ],
      [
        { http: { url: `${server.base}/weights`, mapping: { list: "data..weights" } } },
        "accounts[0].targets.http.mapping.list: expected a dotted path such as data.weights, got \"data..weights\""
      ],
      [
        { http: { url: `${server.base}/weights`, tolerance: -0.1 } },
        "accounts[0].targets.http.tolerance: expected a tolerance from 0 up to (not including) 1, got -0.1"
      ]
    ]
    const results = await Promise.all(
      configs.map(([targets], i) => {
        ws.write(`bad-config-${i}.yaml`, keelYaml([account("bad", targets)]))
        return ws.run(["targets", "--account", "bad", "--config", `bad-config-${i}.yaml`])
      })
    )
    for (const [i, r] of results.entries()) {
      expect(singleLine(r.stderr)).toBe(`bad-config-${i}.yaml: ${configs[i]?.[1]}`)
      expect(r.code).toBe(2)
    }
  })

  it("an HTTP source that answers resolves (the failures above are the sources', not the server's)", async () => {
    ws.write("good.yaml", keelYaml([account("good", { http: { url: `${server.base}/weights` } })]))
    const r = await ws.run(["targets", "--account", "good", "--config", "good.yaml", "--json"])
    expect(r.code).toBe(0)
    expect(parseJson<TargetsJson>(r.stdout).weights.map((w) => [w.symbol, w.weight])).toEqual([["BND", "0.3"], [
      "VTI",
      "0.7"
    ]])
  })

  it("nothing was run on unresolved targets: no store, no artifacts", () => {
    expect(ws.files().filter((f) => f.startsWith(".keel") || f.startsWith("artifacts"))).toEqual([])
    expect(ws.exists(".keel")).toBe(false)
    expect(ws.exists("artifacts")).toBe(false)
  })
})

describe("sums within a source's tolerance never fail the run in keel.yaml's name", () => {
  const ws = fresh()
  ws.write("over5.csv", "symbol,weight\nVTI,0.50005\nBND,0.5\n")

  it(
    "an HTTP answer summing to 1.00005 (within its tolerance): scaled down to 1 with a warning naming " +
      "the URL; the preview runs",
    async () => {
      ws.write("keel.yaml", keelYaml([account("signals", { http: { url: `${server.base}/over?key=k` } })]))
      const targets = await ws.run(["targets", "--account", "signals", "--json"])
      expect(targets.stderr).toBe("")
      expect(targets.code).toBe(0)
      const doc = parseJson<TargetsJson>(targets.stdout)
      expect(doc.weights.map((w) => [w.symbol, w.weight])).toEqual([
        ["BND", "0.499975001249"],
        ["VTI", "0.50002499875"]
      ])
      expect(doc.warnings).toEqual([
        `${server.base}/over: weights sum to 1.00005, above 1 (within the source's tolerance): scaled down to sum to 1`
      ])
      const run = await ws.run(["run", "--account", "signals", "--json"])
      expect(run.code).toBe(0)
      const out = parseJson<OutcomeJson>(run.stdout)
      expect(out.run.status).toBe("completed")
      expect(out.summary.warnings).toContain(
        `${server.base}/over: weights sum to 1.00005, above 1 (within the source's tolerance): scaled down to sum to 1`
      )
    }
  )

  it(
    "a file summing to 1.00005 with the policy's weightTolerance at 0.0001: accepted, scaled down, and " +
      "the note names the file",
    async () => {
      ws.write("keel.yaml", keelYaml([account("loose", "over5.csv", { policy: { weightTolerance: 0.0001 } })]))
      const r = await ws.run(["targets", "--account", "loose", "--json"])
      expect(r.code).toBe(0)
      expect(parseJson<TargetsJson>(r.stdout).warnings).toEqual([
        `${ws.dir}/over5.csv: weights sum to 1.00005, above 1 (within the policy's weightTolerance): scaled down to sum to 1`
      ])
    }
  )
})

describe("a replaced symbol already held is sold like any untargeted symbol", () => {
  const ws = fresh()
  ws.write("quotes.csv", `${QUOTES}\nITOT,120.00,120.10,120.05\n`)
  ws.write("harvest.yaml", "harvest:\n  - { source: VTI, target: ITOT }\n")
  ws.write("keel.yaml", keelYaml([account("taxable", "core.csv")]))

  it("holding VTI, a run with the set VTI → ITOT sells all of VTI and buys ITOT", async () => {
    const first = await ws.run(["run", "--account", "taxable", "--execute", "--json"])
    expect(first.code).toBe(0)
    const bought = parseJson<OutcomeJson>(first.stdout).orders.find((o) => o.symbol === "VTI")
    expect(bought).toMatchObject({ side: "buy", status: "filled" })
    const held = bought?.filledQuantity ?? ""
    expect(Number(held)).toBeGreaterThan(0)

    ws.write(
      "keel.yaml",
      keelYaml([account("taxable", "core.csv", { replacements: { file: "harvest.yaml", set: "harvest" } })])
    )
    // The same trading day: once per day would refuse a second execution without --force.
    const second = await ws.run(["run", "--account", "taxable", "--execute", "--json", "--force"])
    expect(second.stderr).not.toMatch(/error/i)
    expect(second.code).toBe(0)
    const out = parseJson<OutcomeJson>(second.stdout)
    expect(out.run.status).toBe("completed")
    const bySymbol = new Map(out.orders.map((o) => [o.symbol, o]))
    // VTI is no longer targeted: sold in full, in the sell phase; ITOT bought with the proceeds.
    expect(bySymbol.get("VTI")).toMatchObject({
      phase: "sell",
      side: "sell",
      quantity: held,
      status: "filled",
      filledQuantity: held
    })
    expect(bySymbol.get("ITOT")).toMatchObject({ phase: "buy", side: "buy", status: "filled" })
    expect(out.plan?.plan.find((l) => l.symbol === "VTI")).toMatchObject({ action: "sell" })

    const positions = await ws.run(["positions", "--account", "taxable", "--json"])
    // The paper account keeps a sold symbol's row (its realized P&L), at quantity 0.
    const quantity = new Map(
      parseJson<{ positions: ReadonlyArray<{ symbol: string; quantity: string }> }>(positions.stdout).positions.map((
        p
      ) => [p.symbol, Number(p.quantity)])
    )
    expect(quantity.get("ITOT")).toBeGreaterThan(0)
    expect(quantity.get("VTI") ?? 0).toBe(0)
  })
})

describe("the worked example in examples/strategies", () => {
  const ws = workspace("keel-targets-example-", [])
  workspaces.push(ws)
  const config = join(ROOT, "examples/strategies/keel.yaml")

  it("blended: core 0.8 and the two momentum leaders at 0.2, GLD held as IAU (the IRA set)", async () => {
    const r = await ws.run(["targets", "--account", "blended", "--config", config, "--json"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const doc = parseJson<TargetsJson>(r.stdout)
    expect(doc.weights.map((w) => [w.symbol, w.weight, w.strategy])).toEqual([
      ["BND", "0.2", "core"],
      ["IAU", "0.064", "core"],
      ["VTI", "0.36", "core"],
      ["VUG", "0.1", "trend/leaders"],
      ["VXUS", "0.16", "core"],
      ["XLK", "0.1", "trend/leaders"]
    ])
    expect(doc.cash).toBe("0.016")
    expect(doc.substitutions.map((s) => `${s.source}→${s.target}`)).toEqual(["GLD→IAU"])
    expect(doc.momentum[0]?.ranking.map((m) => m.symbol)).toEqual(["XLK", "VUG", "MTUM", "QQQ"])
  })

  it("regime: SPY above its 20-day average and VIX at 15.1 → uptrend_low_vol → growth (momentum)", async () => {
    const r = await ws.run(["targets", "--account", "regime", "--config", config, "--json"])
    expect(r.code).toBe(0)
    const doc = parseJson<TargetsJson>(r.stdout)
    expect(doc.regime).toMatchObject({
      regime: "uptrend_low_vol",
      strategy: "growth",
      trend: { symbol: "SPY", date: "2026-11-20", close: "617.97", sma: "601.856", days: 20, up: true },
      volatility: { symbol: "VIX", level: "15.1", threshold: "20", high: false }
    })
    expect(doc.weights.map((w) => [w.symbol, w.weight, w.strategy])).toEqual([
      ["VUG", "0.5", "growth/leaders"],
      ["XLK", "0.5", "growth/leaders"]
    ])
  })

  it("a preview of the blended account runs on its paper broker", async () => {
    const r = await ws.run(["run", "--account", "blended", "--config", config, "--json"])
    expect(r.code).toBe(0)
    const out = parseJson<OutcomeJson>(r.stdout)
    expect(out.run).toMatchObject({ mode: "preview", status: "completed" })
    expect(out.plan?.orders.map((o) => o.symbol).sort()).toEqual(["BND", "IAU", "VTI", "VUG", "VXUS", "XLK"])
  })
})
