/**
 * What a source may sum to, and which failures a blend may survive, at the Effect level:
 * `resolveTargets` on real files (tests/fixtures/targets, and files written to a temp
 * directory) and a real HTTP server on 127.0.0.1, then the policy's own re-check on the
 * result as `rebalance run` makes it (`validateTargets`).
 *
 * - Sums: a file's against the policy's weightTolerance, an HTTP answer's against its own
 *   tolerance, each error naming the source; whatever passes sums to at most 1 (scaled down,
 *   with a note), so the re-check never refuses a source's numbers in keel.yaml's name.
 * - Configuration errors (keel.yaml, a regime map, a header variable) are always errors, even
 *   in an `onStrategyFailure: cash` blend and in a regime's unselected strategies; only a
 *   strategy's data failing to load is kept in cash, and never every strategy's.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { isAbsolute, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { resolveTargets } from "../../../src/effects/targets/resolve.ts"
import { type Decimal, format, parseDecimal } from "../../../src/kernel/decimal.ts"
import { defaultPolicy, type Policy } from "../../../src/kernel/rebalance/policy.ts"
import { type Targets, targetsInput, validateTargets } from "../../../src/kernel/rebalance/targets.ts"
import { type SourceConfig, toSource } from "../../../src/programs/targetsConfig.ts"
import { listen } from "../../support/loopback.ts"

const FIXTURES = fileURLToPath(new URL("../../fixtures/targets", import.meta.url))
const DIR = realpathSync(mkdtempSync(join(tmpdir(), "keel-targets-checks-")))
afterAll(() => rmSync(DIR, { recursive: true, force: true }))

/** A file in the temp directory, by its absolute path. */
const file = (name: string, text: string): string => {
  const path = join(DIR, name)
  writeFileSync(path, text)
  return path
}

const OVER5 = file("over5.csv", "symbol,weight\nVTI,0.50005\nBND,0.5\n")
const OVER_HALF_PERMILLE = file("over-half-permille.csv", "symbol,weight\nVTI,0.6005\nBND,0.4\n")
const PERCENT_110 = file("percent-110.yaml", "VTI: 60\nBND: 50\n")
const NEARLY_ONE = file("nearly-one.csv", "symbol,weight\nA,0.5\nB,0.5000000005\n")
const MERGE = file("merge.yaml", "merge:\n  - { source: A, target: B }\n")
const SIDEWAYS_MAP = file("sideways.yaml", "uptrend_low_vol: growth\nsideways: defensive\n")

const server = { base: "", close: async () => {} }
beforeAll(async () => {
  const started = await listen((req, res) => {
    const path = (req.url ?? "").split("?")[0]
    const [status, body] = path === "/over"
      ? [200, { VTI: 0.50005, BND: 0.5 }]
      : path === "/weights"
      ? [200, { VTI: 0.7, BND: 0.3 }]
      : [500, { error: "down" }]
    res.writeHead(status, { "content-type": "application/json" })
    res.end(JSON.stringify(body))
  })
  server.base = started.base
  server.close = started.close
})
afterAll(() => server.close())

const Services = Layer.merge(NodeServices.layer, FetchHttpClient.layer)

const decimal = (text: string): Decimal => parseDecimal(text) as Decimal

interface Options {
  readonly asOf?: string
  readonly weightTolerance?: string
  readonly replacements?: { readonly file: string; readonly set: string }
}

/** Resolves a keel.yaml `targets:` value (relative paths in the fixtures) for an account whose policy has `weightTolerance`. */
const resolve = (config: SourceConfig, options: Options = {}) =>
  resolveTargets(toSource(config, (f) => (isAbsolute(f) ? f : join(FIXTURES, f))), options.replacements, {
    configFile: "keel.yaml",
    at: "accounts[0].targets",
    asOf: options.asOf ?? "2026-03-05",
    weightTolerance: options.weightTolerance === undefined
      ? defaultPolicy.weightTolerance
      : decimal(options.weightTolerance)
  }).pipe(Effect.provide(Services))

/** The one-line message a source fails with, the folders left out. */
const failure = (config: SourceConfig, options: Options = {}) =>
  resolve(config, options).pipe(
    Effect.flip,
    Effect.map((e) => e.message.replaceAll(`${FIXTURES}/`, "").replaceAll(`${DIR}/`, "").replaceAll(server.base, "URL"))
  )

const weights = (targets: Targets): Record<string, string> =>
  Object.fromEntries(targets.weights.map((t) => [t.symbol, format(t.weight)]))

/** `rebalance run`'s re-check of the resolved weights against the account's policy: it must accept them. */
const recheck = (targets: Targets, policy: Policy = defaultPolicy): void => {
  const checked = validateTargets(targetsInput(targets), policy)
  expect(Result.isSuccess(checked) ? "accepted" : checked.failure.message).toBe("accepted")
}

const strip = (warnings: ReadonlyArray<string>): ReadonlyArray<string> =>
  warnings.map((w) => w.replaceAll(`${FIXTURES}/`, "").replaceAll(`${DIR}/`, "").replaceAll(server.base, "URL"))

const withEnv = (env: Record<string, string>) =>
  Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))

// ---------------------------------------------------------------------------------------
// Sums: one rule per source, errors naming the source
// ---------------------------------------------------------------------------------------

describe("the sum of a source's weights", () => {
  it.effect("a file summing to 1.00005 is refused under the default weightTolerance, naming the file and the sum", () =>
    Effect.gen(function*() {
      expect(yield* failure({ file: OVER5 })).toBe(
        "over5.csv: sum of weights: expected weights that sum to at most 1 (tolerance 0.000000001), got \"1.00005\""
      )
      // The file's own tolerance is the policy's: 0.0001 lets it pass.
      const r = yield* resolve({ file: OVER5 }, { weightTolerance: "0.0001" })
      expect(r.targets.total.lte("1")).toBe(true)
    }))

  it.effect(
    "with weightTolerance 0.001 a file summing to 1.0005 is accepted: scaled down to 1 with a note " +
      "naming the file, and the policy's re-check passes",
    () =>
      Effect.gen(function*() {
        const r = yield* resolve({ file: OVER_HALF_PERMILLE }, { weightTolerance: "0.001" })
        // 0.6005 / 1.0005 and 0.4 / 1.0005, rounded down at 12 places.
        expect(weights(r.targets)).toEqual({ BND: "0.39980009995", VTI: "0.600199900049" })
        expect(strip(r.warnings)).toEqual([
          "over-half-permille.csv: weights sum to 1.0005, above 1 (within the policy's weightTolerance): scaled down to sum to 1"
        ])
        recheck(r.targets, { ...defaultPolicy, weightTolerance: decimal("0.001") })
        recheck(r.targets)
      })
  )

  it.effect("a percent file summing to 110: the sum is told in percent", () =>
    Effect.gen(function*() {
      expect(yield* failure({ file: PERCENT_110, unit: "percent" })).toBe(
        "percent-110.yaml: sum of weights: expected percentages that sum to at most 100 (tolerance 0.0000001), got \"110\""
      )
    }))

  it.live(
    "an HTTP answer within its own tolerance but above 1: scaled down with a note naming the URL; the " +
      "re-check under weightTolerance 1e-9 passes",
    () =>
      Effect.gen(function*() {
        const r = yield* resolve({ http: { url: `${server.base}/over?key=secret` } })
        expect(weights(r.targets)).toEqual({ BND: "0.499975001249", VTI: "0.50002499875" })
        expect(strip(r.warnings)).toEqual([
          "URL/over: weights sum to 1.00005, above 1 (within the source's tolerance): scaled down to sum to 1"
        ])
        recheck(r.targets)
        // In a blend, too.
        const blended = yield* resolve({
          blend: {
            strategies: [{ name: "signals", share: 0.5, source: { http: { url: `${server.base}/over` } } }, {
              name: "growth",
              share: 0.5,
              source: "growth.csv"
            }]
          }
        })
        recheck(blended.targets)
      })
  )

  it.effect(
    "shares summing a little above 1 (within the share tolerance) over full strategies: the blend is " +
      "scaled down to 1, with a note",
    () =>
      Effect.gen(function*() {
        const config: SourceConfig = {
          blend: {
            strategies: [{ name: "growth", share: "0.5000000005", source: "growth.csv" }, {
              name: "defensive",
              share: 0.5,
              source: "defensive.csv"
            }]
          }
        }
        // weightTolerance 0: the blend's 1.0000000005 would otherwise be refused in keel.yaml's name.
        const r = yield* resolve(config, { weightTolerance: "0" })
        expect(r.targets.total.lte("1")).toBe(true)
        expect(strip(r.warnings)).toEqual([
          "keel.yaml: accounts[0].targets.blend: blended weights sum to 1.0000000005, above 1 (shares summing " +
          "above 1): scaled down to sum to 1"
        ])
        for (const t of r.targets.weights) {
          expect(format(t.attribution.reduce((s, a) => s.plus(a.weight), decimal("0"))), t.symbol).toBe(
            format(t.weight)
          )
        }
        recheck(r.targets, { ...defaultPolicy, weightTolerance: decimal("0") })
      })
  )

  it.effect("a replacement set merging a file that sums within the tolerance above 1 into one symbol: still no weight above 1", () =>
    Effect.gen(function*() {
      const r = yield* resolve({ file: NEARLY_ONE }, { replacements: { file: MERGE, set: "merge" } })
      expect(Object.keys(weights(r.targets))).toEqual(["B"])
      expect(r.targets.total.lte("1")).toBe(true)
      recheck(r.targets)
    }))
})

describe("replacement sets keep the total, unless a set says freed: cash", () => {
  const SPY = file("spy.csv", "symbol,weight\nSPY,0.6\nBND,0.4\n")
  const SETS = file("sets.yaml", "half:\n  - { source: SPY, target: SSO, scale: 0.5 }\n")
  const EXAMPLE = fileURLToPath(new URL("../../../examples/strategies/replacements.yaml", import.meta.url))

  it.effect("by default the weight a scale below 1 frees goes to the other targets: the total stays 1", () =>
    Effect.gen(function*() {
      const r = yield* resolve({ file: SPY }, { replacements: { file: SETS, set: "half" } })
      expect(weights(r.targets)).toEqual({ BND: "0.7", SSO: "0.3" })
      expect(format(r.targets.total)).toBe("1")
    }))

  it.effect("the example's margin set (freed: cash): half of SPY's weight in SSO, the rest in cash", () =>
    Effect.gen(function*() {
      const r = yield* resolve({ file: SPY }, { replacements: { file: EXAMPLE, set: "margin" } })
      expect(weights(r.targets)).toEqual({ BND: "0.4", SSO: "0.3" })
      expect(format(r.targets.cash)).toBe("0.3")
      expect(r.substitutions.map((x) => [x.source, x.target, format(x.weightMoved), format(x.weightAdded)])).toEqual([[
        "SPY",
        "SSO",
        "0.6",
        "0.3"
      ]])
    }))

  it.effect("a set's unknown field or freed value names the file and the place", () =>
    Effect.gen(function*() {
      const bad = file("bad-sets.yaml", "half:\n  freed: bonds\n  rules: []\n")
      expect(yield* failure({ file: SPY }, { replacements: { file: bad, set: "half" } })).toBe(
        "bad-sets.yaml: half.freed: expected reinvest or cash, got \"bonds\""
      )
    }))
})

// ---------------------------------------------------------------------------------------
// Configuration errors against data failures
// ---------------------------------------------------------------------------------------

/** A cash-mode blend of core.csv (0.6) and `other` (0.4). */
const cashBlend = (other: SourceConfig): SourceConfig => ({
  blend: {
    onStrategyFailure: "cash",
    strategies: [{ name: "core", share: 0.6, source: "core.csv" }, { name: "other", share: 0.4, source: other }]
  }
})
const OTHER = "accounts[0].targets.blend.strategies[1].source"

const momentum = (overrides: Record<string, unknown> = {}): SourceConfig => ({
  momentum: {
    name: "trend",
    history: "momentum-history.csv",
    universe: ["QQQ", "VUG", "MTUM", "XLK"],
    lookbackDays: 4,
    top: 2,
    ...overrides
  }
})

const regime = (overrides: Record<string, unknown> = {}): SourceConfig => ({
  regime: {
    history: "regime-history.csv",
    trendDays: 3,
    volatilityIndex: "VIX",
    indexThreshold: 20,
    strategies: { growth: { file: "growth.csv" }, defensive: { file: "defensive.csv" } },
    map: {
      uptrend_low_vol: "growth",
      uptrend_high_vol: "defensive",
      downtrend_low_vol: "defensive",
      downtrend_high_vol: "defensive"
    },
    ...overrides
  }
})

describe("configuration errors are errors, even in an onStrategyFailure: cash blend", () => {
  const cases: ReadonlyArray<readonly [string, SourceConfig, string]> = [
    [
      "momentum.top: 0",
      momentum({ top: 0 }),
      `keel.yaml: ${OTHER}.momentum.top: expected a whole number, at least 1, got 0`
    ],
    [
      "an empty momentum universe",
      momentum({ universe: [] }),
      `keel.yaml: ${OTHER}.momentum.universe: expected a non-empty list of symbols, got a list`
    ],
    [
      "an unknown regime in an inline map",
      regime({ map: { uptrend_low_vol: "growth", sideways: "growth" } }),
      `keel.yaml: ${OTHER}.regime.map.sideways: expected a regime (uptrend_low_vol, uptrend_high_vol, ` +
      `downtrend_low_vol, downtrend_high_vol), got "sideways"`
    ],
    [
      "an unknown regime in a map file",
      regime({ map: SIDEWAYS_MAP }),
      "sideways.yaml: sideways: expected a regime (uptrend_low_vol, uptrend_high_vol, downtrend_low_vol, " +
      "downtrend_high_vol), got \"sideways\""
    ],
    [
      "a map file that does not exist",
      regime({ map: join(DIR, "no-map.yaml") }),
      "no-map.yaml: cannot read the regime file: no such file"
    ],
    [
      "a map naming an undefined strategy",
      regime({ map: { uptrend_low_vol: "growht" } }),
      `keel.yaml: ${OTHER}.regime.map.uptrend_low_vol: expected a defined strategy (growth, defensive), got "growht"`
    ],
    [
      "bad regime options",
      regime({ trendDays: 0 }),
      `keel.yaml: ${OTHER}.regime.trendDays: expected a whole number, at least 1, got 0`
    ],
    [
      "a negative maxStaleDays",
      momentum({ maxStaleDays: -1 }),
      `keel.yaml: ${OTHER}.momentum.maxStaleDays: expected a whole number of days, at least 0, got -1`
    ],
    [
      "a nested blend's shares",
      {
        blend: {
          strategies: [{ name: "a", share: 0.5, source: "growth.csv" }, {
            name: "b",
            share: 0.4,
            source: "defensive.csv"
          }]
        }
      },
      `keel.yaml: ${OTHER}.blend.strategies: sum of shares: expected shares that sum to 1 (tolerance 0.000000001), got "0.9"`
    ],
    [
      "a regime's unselected strategy with a broken configuration",
      regime({ strategies: { growth: { file: "growth.csv" }, defensive: momentum({ top: 0 }) } }),
      `keel.yaml: ${OTHER}.regime.strategies.defensive.momentum.top: expected a whole number, at least 1, got 0`
    ],
    [
      "a selected regime the map leaves out",
      regime({ map: { downtrend_high_vol: "defensive" } }),
      `keel.yaml: ${OTHER}.regime.map.uptrend_low_vol: expected a strategy for the selected regime, got nothing`
    ]
  ]
  for (const [name, other, message] of cases) {
    it.effect(`${name}: an error naming where, not a warning`, () =>
      Effect.gen(function*() {
        expect(yield* failure(cashBlend(other), { asOf: "2026-03-03" })).toBe(message)
      }))
  }

  it.live("a header whose environment variable is unset: an error naming the URL and the variable, before any request", () =>
    Effect.gen(function*() {
      const other: SourceConfig = {
        http: { url: `${server.base}/weights`, headers: { Authorization: "KEEL_TEST_UNSET_TOKEN" } }
      }
      expect(yield* failure(cashBlend(other))).toBe(
        "URL/weights: header Authorization: expected the environment variable KEEL_TEST_UNSET_TOKEN to hold its value, got nothing"
      )
    }).pipe(withEnv({})))

  it.effect("a regime's unselected strategy is checked at every run, whichever regime holds (not only in a blend)", () =>
    Effect.gen(function*() {
      const broken = regime({
        strategies: { growth: { file: "growth.csv" }, defensive: momentum({ lookbackDays: 0 }) }
      })
      expect(yield* failure(broken, { asOf: "2026-03-03" })).toBe(
        "keel.yaml: accounts[0].targets.regime.strategies.defensive.momentum.lookbackDays: expected a whole number, at least 1, got 0"
      )
      // Its data stays lazy: an unselected strategy's missing file is read only once its regime is selected.
      const lazy = regime({ strategies: { growth: { file: "growth.csv" }, defensive: { file: "nowhere.csv" } } })
      expect(weights((yield* resolve(lazy, { asOf: "2026-03-03" })).targets)).toEqual({ QQQ: "0.6", VTI: "0.4" })
      expect(yield* failure(lazy, { asOf: "2026-03-04" })).toBe(
        "nowhere.csv: cannot read the targets file: no such file"
      )
    }))

  it.effect("the configuration is checked before any data: a broken strategy is named even when another's file is missing", () =>
    Effect.gen(function*() {
      const config: SourceConfig = {
        blend: {
          strategies: [{ name: "a", share: 0.5, source: "nowhere.csv" }, {
            name: "b",
            share: 0.5,
            source: momentum({ top: 0 })
          }]
        }
      }
      expect(yield* failure(config)).toBe(
        "keel.yaml: accounts[0].targets.blend.strategies[1].source.momentum.top: expected a whole number, at least 1, got 0"
      )
    }))
})

describe("data that fails to load: kept in cash in an onStrategyFailure: cash blend, never every strategy's", () => {
  const cases: ReadonlyArray<readonly [string, () => SourceConfig, string, string?]> = [
    ["a missing file", () => "nowhere.csv", "nowhere.csv: cannot read the targets file: no such file"],
    [
      "a bad CSV line",
      () => "bad-line.csv",
      "bad-line.csv: line 3: expected \"symbol,weight\", got \"BND,0.30,extra\""
    ],
    [
      "a bad weight in a data file",
      () => "bad-weight.csv",
      "bad-weight.csv: line 4, weight: expected a fraction between 0 and 1, got \"thirty\""
    ],
    [
      "a file summing above 1",
      () => "over.csv",
      "over.csv: sum of weights: expected weights that sum to at most 1 (tolerance 0.000000001), got \"1.05\""
    ],
    ["an HTTP error", () => ({ http: { url: `${server.base}/down`, retries: 0 } }), "URL/down: HTTP 500 (1 attempt)"],
    [
      "stale momentum history",
      () => momentum(),
      "momentum-history.csv: QQQ: expected a last close at most 5 calendar days before 2026-03-20, got \"2026-03-05\"",
      "2026-03-20"
    ],
    [
      "missing regime history",
      () => regime({ benchmark: "IWM" }),
      "regime-history.csv: IWM: expected closes up to 2026-03-05 (3-day average), got nothing"
    ]
  ]
  for (const [name, other, reason, asOf] of cases) {
    it.live(`${name}: its share stays in cash, with a warning naming the source`, () =>
      Effect.gen(function*() {
        const r = yield* resolve(cashBlend(other()), asOf === undefined ? {} : { asOf })
        expect(weights(r.targets)).toEqual({ BND: "0.18", GLD: "0.06", VTI: "0.3" })
        expect(strip(r.warnings)).toEqual([`strategy other failed (${reason}): its share 0.4 stays in cash`])
      }))
  }

  it.effect("every strategy failing is an error listing each, never a full liquidation from a warning", () =>
    Effect.gen(function*() {
      const config: SourceConfig = {
        blend: {
          onStrategyFailure: "cash",
          strategies: [{ name: "core", share: 0.6, source: "nowhere.csv" }, {
            name: "other",
            share: 0.4,
            source: "bad-line.csv"
          }]
        }
      }
      expect(yield* failure(config)).toBe(
        "keel.yaml: accounts[0].targets.blend: expected at least one strategy that produced targets " +
          "(onStrategyFailure: cash keeps a failed strategy's share in cash, never the whole account), got none: " +
          "strategy core failed: nowhere.csv: cannot read the targets file: no such file; strategy other " +
          "failed: bad-line.csv: line 3: expected \"symbol,weight\", got \"BND,0.30,extra\""
      )
    }))

  it.effect("a nested blend whose strategies all failed is one failed strategy of the outer cash blend", () =>
    Effect.gen(function*() {
      const inner: SourceConfig = {
        blend: { onStrategyFailure: "cash", strategies: [{ name: "x", share: 1, source: "nowhere.csv" }] }
      }
      const r = yield* resolve(cashBlend(inner))
      expect(weights(r.targets)).toEqual({ BND: "0.18", GLD: "0.06", VTI: "0.3" })
      expect(r.warnings).toHaveLength(1)
      expect(strip(r.warnings)[0]).toMatch(
        /^strategy other failed \(keel\.yaml: accounts\[0\]\.targets\.blend\.strategies\[1\]\.source\.blend: expected at least one strategy/
      )
    }))
})
