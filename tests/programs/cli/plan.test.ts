/**
 * `rebalance plan` as a real process: the built bin once, then the source entry (Node 24
 * runs .ts) for every output and error case. Files are real, in a temp dir; expected
 * numbers are worked out by hand in the comments.
 */
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type CliResult, type PlanJson, ROOT, runCli } from "../../support/cli.ts"

const BUILT_BIN = join(ROOT, "dist/programs/rebalance.js")

const dir = mkdtempSync(join(tmpdir(), "keel-cli-"))
for (const name of ["snapshot.json", "targets.csv", "targets.json", "policy.yaml"]) {
  copyFileSync(join(ROOT, "examples", name), join(dir, name))
}
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const write = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text)
  return name
}

const planOf = (stdout: string): PlanJson => JSON.parse(stdout) as PlanJson

/** Runs the CLI in the temp dir, so messages name files as given (`snapshot.json`). */
const run = (args: ReadonlyArray<string>, bin?: string): Promise<CliResult> => runCli(args, { cwd: dir }, bin)

const EXAMPLE = ["plan", "--snapshot", "snapshot.json", "--targets", "targets.csv", "--policy", "policy.yaml"]

/**
 * The example by hand. Valuation at the mid (GLD has only a last: 215.40):
 *   VTI 120 × 245.15 = 29418, BND 150 × 72.50 = 10875, VXUS 40 × 61.33 = 2453.2,
 *   ARKK 30 × 48.95 = 1468.5; equity = 2500 + 44214.7 = 46714.7; reserve 1% = 467.147.
 * Sells at the bid: ARKK is untargeted, all 30 × 48.90 = 1467; VTI to 45%:
 *   0.45 × 46714.7 / 245.15 = 85.75 shares, so 34 of 120 go, 34 × 245.10 = 8333.4.
 * BND at 23.28% is within 2 points of 25%: held.
 * Buys at the ask (GLD at last, with a warning): cash target = max(2%, 1%) × equity
 *   = 934.294, budget = 2500 + 9800.4 − 934.294 = 11366.106. VXUS ideal 112.34 more,
 *   GLD 17.35; the most each may take (113 and 18) costs 6933.68 + 3877.2 = 10810.88,
 *   which fits, and leaves the least cash over its target, so both are bought.
 * Cash after = 2500 + 1467 + 8333.4 − 3877.2 − 6933.68 = 1489.52.
 */
const EXAMPLE_ORDERS = [
  { symbol: "ARKK", side: "sell", quantity: "30", price: "48.9", value: "1467", phase: "sell" },
  { symbol: "VTI", side: "sell", quantity: "34", price: "245.1", value: "8333.4", phase: "sell" },
  { symbol: "GLD", side: "buy", quantity: "18", price: "215.4", value: "3877.2", phase: "buy" },
  { symbol: "VXUS", side: "buy", quantity: "113", price: "61.36", value: "6933.68", phase: "buy" }
]

describe("the built bin", () => {
  beforeAll(() => {
    const build = spawnSync(process.execPath, [
      join(ROOT, "node_modules/@typescript/native/bin/tsc"),
      "-p",
      "tsconfig.build.json"
    ], {
      cwd: ROOT,
      encoding: "utf8"
    })
    expect(build.stdout + build.stderr).toBe("")
    expect(build.status).toBe(0)
  }, 120_000)

  it("starts with a node shebang", () => {
    expect(readFileSync(BUILT_BIN, "utf8").split("\n", 1)[0]).toBe("#!/usr/bin/env node")
  })

  it("plans the example", async () => {
    const r = await run([...EXAMPLE, "--json"], BUILT_BIN)
    expect(r.code).toBe(0)
    expect(planOf(r.stdout).orders).toEqual(EXAMPLE_ORDERS)
  })
})

describe.concurrent("rebalance plan --json", () => {
  it("prints exactly one JSON object with the hand-computed plan, and nothing on stderr", async () => {
    const r = await run([...EXAMPLE, "--json"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout.trimStart().startsWith("{")).toBe(true)
    const out = planOf(r.stdout)
    expect(Object.keys(out)).toEqual(["equity", "cash", "plan", "orders", "warnings"])
    expect(out.equity).toBe("46714.7")
    expect(out.cash).toEqual({ before: "2500", after: "1489.52", reserve: "467.147" })
    expect(out.orders).toEqual(EXAMPLE_ORDERS)
    expect(out.warnings).toEqual([{
      code: "BUY_PRICE_FALLBACK",
      symbol: "GLD",
      message: "GLD: no ask; buy sized at last"
    }])
    expect(out.plan.map((l: { symbol: string }) => l.symbol)).toEqual(["ARKK", "BND", "GLD", "VTI", "VXUS"])
    expect(out.plan[1]).toEqual({
      symbol: "BND",
      quantity: "150",
      price: "72.5",
      value: "10875",
      // 10875 / 46714.7 to 12 places
      weight: "0.232796100585",
      targetWeight: "0.25",
      targetQuantity: "150",
      finalQuantity: "150",
      action: "hold",
      reason: "within-band"
    })
    expect(out.plan[0]).toMatchObject({
      symbol: "ARKK",
      action: "sell",
      reason: "untargeted",
      targetQuantity: "0",
      targetWeight: "0"
    })
    expect(out.plan[3]).toMatchObject({
      symbol: "VTI",
      action: "sell",
      reason: "above-target",
      targetQuantity: "86",
      value: "29418"
    })
    // GLD's nearest-step target is 17, but the whole-share search buys 18 (one step past it).
    expect(out.plan[2]).toMatchObject({
      symbol: "GLD",
      quantity: "0",
      value: "0",
      weight: "0",
      targetQuantity: "17",
      finalQuantity: "18",
      action: "buy",
      reason: "below-target"
    })
  })

  it("gives the same plan for the same targets as JSON", async () => {
    const csv = await run([...EXAMPLE, "--json"])
    const json = await run([
      "plan",
      "--snapshot",
      "snapshot.json",
      "--targets",
      "targets.json",
      "--policy",
      "policy.yaml",
      "--json"
    ])
    expect(json.code).toBe(0)
    expect(json.stdout).toBe(csv.stdout)
  })

  it("exits 0 on a plan whose only buy is dropped, with the reason and a warning", async () => {
    // 100 cash, X at ask 30, target 50%: the budget is 100 − 50 = 50, so 1 share (30),
    // which is below minOrderValue 40: dropped, and X holds.
    write("small.json", "{\"cash\": \"100\", \"quotes\": [{\"symbol\": \"X\", \"bid\": \"29.9\", \"ask\": \"30\"}]}")
    write("half.json", "{\"X\": \"0.5\"}")
    write("min.json", "{\"minOrderValue\": \"40\"}")
    const r = await run([
      "plan",
      "--snapshot",
      "small.json",
      "--targets",
      "half.json",
      "--policy",
      "min.json",
      "--json"
    ])
    expect(r.code).toBe(0)
    const out = planOf(r.stdout)
    expect(out.orders).toEqual([])
    expect(out.plan).toEqual([
      {
        symbol: "X",
        quantity: "0",
        price: "29.95",
        value: "0",
        weight: "0",
        targetWeight: "0.5",
        targetQuantity: "2",
        finalQuantity: "0",
        action: "hold",
        reason: "below-min-order-value"
      }
    ])
    expect(out.cash).toEqual({ before: "100", after: "100", reserve: "0" })
    expect(out.warnings.map((w: { code: string }) => w.code)).toEqual(["BELOW_MIN_ORDER_VALUE"])
  })

  it("writes null for what an unpriced holding does not have", async () => {
    write("unpriced.json", "{\"cash\": \"100\", \"positions\": [{\"symbol\": \"Z\", \"quantity\": \"3\"}]}")
    write("none.json", "{\"$CASH\": \"1\"}")
    const r = await run(["plan", "--snapshot", "unpriced.json", "--targets", "none.json", "--json"])
    expect(r.code).toBe(0)
    const out = planOf(r.stdout)
    expect(out.plan).toEqual([
      {
        symbol: "Z",
        quantity: "3",
        price: null,
        value: null,
        weight: null,
        targetWeight: "0",
        targetQuantity: "3",
        finalQuantity: "3",
        action: "hold",
        reason: "no-price"
      }
    ])
    expect(out.warnings.map((w: { code: string }) => w.code)).toEqual(["UNPRICED_HOLDING"])
  })
})

describe.concurrent("rebalance plan (table)", () => {
  it("prints a row per symbol, the cash summary and the warnings", async () => {
    const r = await run(EXAMPLE)
    expect(r.code).toBe(0)
    expect(r.stderr).toBe("")
    const lines = r.stdout.split("\n")
    expect(lines[0]).toBe("Equity 46714.7")
    expect(lines).toContainEqual(
      expect.stringMatching(/^ARKK +3\.14% → 0\.00% +sell +not in targets: liquidate +30 +1467$/)
    )
    expect(lines).toContainEqual(expect.stringMatching(/^BND +23\.28% → 25\.00% +hold +within drift band$/))
    expect(lines).toContainEqual(expect.stringMatching(/^GLD +0\.00% → 8\.00% +buy +below target +18 +3877\.2$/))
    expect(lines).toContainEqual(expect.stringMatching(/^VTI +62\.97% → 45\.00% +sell +above target +34 +8333\.4$/))
    expect(lines).toContainEqual(expect.stringMatching(/^VXUS +5\.25% → 20\.00% +buy +below target +113 +6933\.68$/))
    expect(lines).toContain("Cash: before 2500, after 1489.52, reserve 467.147")
    expect(lines).toContain("  BUY_PRICE_FALLBACK: GLD: no ask; buy sized at last")
  })
})

describe.concurrent("invalid input: exit 2, one line on stderr, nothing on stdout", () => {
  const plan = (snapshot: string, targets: string, policy?: string): Array<string> => [
    "plan",
    "--snapshot",
    snapshot,
    "--targets",
    targets,
    ...(policy === undefined ? [] : ["--policy", policy]),
    "--json"
  ]
  const cases: ReadonlyArray<readonly [string, () => Array<string>, string | RegExp]> = [
    [
      "a missing file",
      () => plan("nowhere.json", "targets.csv"),
      "nowhere.json: cannot read the snapshot file: no such file"
    ],
    [
      "invalid JSON",
      () =>
        plan(
          write(
            "broken.json",
            "{\n  \"cash\": \"100\",\n  \"positions\": [\n    {\"symbol\": \"A\" \"quantity\": \"1\"}\n  ]\n}"
          ),
          "targets.csv"
        ),
      "broken.json: line 4, column 20: invalid JSON: expected \",\" or \"}\", got \"\\\"quantity\\\": \""
    ],
    [
      "invalid YAML",
      () => plan("snapshot.json", "targets.csv", write("broken.yaml", "cashReserve: 0.01\ndriftBand: [0.02\n")),
      /^broken\.yaml: invalid YAML: .* at line 3, column 1$/
    ],
    [
      "a bad CSV line",
      () => plan("snapshot.json", write("semicolons.csv", "symbol,weight\nVTI,0.45\nVXUS;0.20\n")),
      "semicolons.csv: line 3: expected \"symbol,weight\", got \"VXUS;0.20\""
    ],
    [
      "a bad weight in CSV, by its line",
      () => plan("snapshot.json", write("weight.csv", "symbol,weight\n\nVTI,0.45\nVXUS,20%\n")),
      "weight.csv: line 4, weight: expected a fraction between 0 and 1, got \"20%\""
    ],
    [
      "a negative quantity",
      () =>
        plan(
          write(
            "negative.json",
            "{\"cash\": \"100\", \"positions\": [{\"symbol\": \"VTI\", \"quantity\": \"1\"}, {\"symbol\": \"BND\", \"quantity\": \"-5\"}]}"
          ),
          "targets.csv"
        ),
      "negative.json: positions[1].quantity: expected a quantity of at least 0 (long positions only), got \"-5\""
    ],
    [
      "weights that sum above 1",
      () => plan("snapshot.json", write("heavy.csv", "VTI,0.6\nBND,0.45\n")),
      "heavy.csv: sum of weights: expected weights that sum to at most 1 (tolerance 0.000000001), got \"1.05\""
    ],
    [
      "an unknown policy field",
      () => plan("snapshot.json", "targets.csv", write("typo.yaml", "cashReserve: 0.01\ndriftBnad: 0.02\n")),
      /^typo\.yaml: driftBnad: expected a policy field \(.*driftBand.*\), got "driftBnad"$/
    ],
    [
      "a duplicate symbol in CSV",
      () => plan("snapshot.json", write("twice.csv", "symbol,weight\nVTI,0.3\nBND,0.2\nVTI,0.1\n")),
      "twice.csv: line 4, symbol: expected each symbol at most once (duplicate), got \"VTI\""
    ],
    [
      "a duplicate symbol in a JSON map",
      () => plan("snapshot.json", write("twice.json", "{\"VTI\": \"0.3\",\n \"VTI\": \"0.1\"}")),
      "twice.json: line 2, column 2: expected each key at most once (duplicate), got \"VTI\""
    ],
    [
      "a duplicate position in a list",
      () =>
        plan(
          write(
            "twice-held.json",
            "{\"cash\": \"1\", \"positions\": [{\"symbol\": \"VTI\", \"quantity\": \"1\"}, {\"symbol\": \" VTI\", \"quantity\": \"2\"}]}"
          ),
          "targets.csv"
        ),
      "twice-held.json: positions[1].symbol: expected each symbol at most once (duplicate), got \" VTI\""
    ],
    [
      "a misspelt snapshot field",
      () => plan(write("misspelt.json", "{\"cash\": \"1\", \"postions\": []}"), "targets.csv"),
      "misspelt.json: postions: expected a snapshot field (cash, positions, quotes), got \"postions\""
    ],
    [
      "an unsupported extension",
      () => plan("snapshot.json", write("targets.txt", "VTI,1\n")),
      "targets.txt: expected a targets file ending in .json, .yaml, .yml or .csv"
    ],
    [
      "an unknown CLI flag",
      () => [...EXAMPLE, "--jsn"],
      "rebalance plan: unknown flag --jsn (did you mean --json?); see rebalance plan --help"
    ],
    [
      "a missing required flag",
      () => ["plan", "--snapshot", "snapshot.json", "--json"],
      "rebalance plan: Missing required flag: --targets; see rebalance plan --help"
    ],
    [
      "an unknown command",
      () => ["plna"],
      "rebalance: Unknown subcommand \"plna\" for \"rebalance\" (did you mean plan?); see rebalance --help"
    ]
  ]
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const r = await run(args())
      // Exactly one line, ended by a newline.
      const [line, ...rest] = r.stderr.split("\n")
      expect(rest).toEqual([""])
      if (typeof message === "string") expect(line).toBe(message)
      else expect(line).toMatch(message)
      expect(r.stdout).toBe("")
      expect(r.code).toBe(2)
    })
  }
})

describe.concurrent("help", () => {
  it("prints the plan command's flags on stdout and exits 0", async () => {
    const r = await run(["plan", "--help"])
    expect(r.code).toBe(0)
    for (const flag of ["--snapshot", "--targets", "--policy", "--json"]) expect(r.stdout).toContain(flag)
  })
})
