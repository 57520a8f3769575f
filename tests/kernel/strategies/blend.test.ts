/**
 * Strategy blend: exact sums, attribution that explains every weight, overlapping symbols,
 * failed strategies (fail or cash, never silent) and share validation.
 */
import * as Result from "effect/Result"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  apportion,
  type Blend,
  blend,
  type BlendStrategy,
  type Decimal,
  defaultPolicy,
  format,
  type InvalidInput,
  OnStrategyFailure,
  primaryStrategy,
  SOME_STRATEGY,
  type Targets,
  validateShares,
  validateTargets
} from "../../../src/kernel/index.ts"
import { check, D0, D1, dec, err as failureOf, scaled, sum } from "../helpers.ts"

const RUNS = { numRuns: 1000 }
const SYMBOLS = ["A", "B", "C", "D", "E", "a"] as const
const NAMES = ["growth", "income", "momentum", "value", "Z"] as const

/** Validated targets from symbol → weight text. */
const targetsOf = (weights: Record<string, string>): Targets => {
  const r = validateTargets(weights, defaultPolicy)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}

const ok = (r: ReturnType<typeof blend>): Blend => {
  if (Result.isFailure(r)) throw new Error(`unexpected InvalidInput: ${r.failure.message}`)
  return r.success
}

const err = (r: ReturnType<typeof blend>): InvalidInput => {
  if (Result.isSuccess(r)) throw new Error("expected an InvalidInput")
  return r.failure
}

/** Weights in millionths summing to at most 1 over a random subset of the symbols (none: all cash). */
const targetsArb: fc.Arbitrary<Targets> = fc
  .dictionary(fc.constantFrom(...SYMBOLS), fc.integer({ min: 0, max: 1_000_000 }), { maxKeys: SYMBOLS.length })
  .chain((raw) =>
    fc.integer({ min: 0, max: 1_000_000 }).map((budget) => {
      const keys = Object.keys(raw)
      const total = keys.reduce((s, k) => s + raw[k]!, 0)
      const out: Record<string, string> = {}
      for (const k of keys) out[k] = scaled(total === 0 ? 0 : Math.floor((raw[k]! * budget) / total), 6)
      return targetsOf(keys.length === 0 ? { "$CASH": "1" } : out)
    })
  )

/** k positive shares in ten-thousandths summing to exactly 1 (cut points of 1..9999). */
const sharesArb = (k: number): fc.Arbitrary<Array<string>> =>
  fc.uniqueArray(fc.integer({ min: 1, max: 9999 }), { minLength: k - 1, maxLength: k - 1 }).map((cuts) => {
    const points = [0, ...cuts.sort((x, y) => x - y), 10_000]
    return points.slice(1).map((p, i) => scaled(p - points[i]!, 4))
  })

interface Case {
  readonly strategies: Array<BlendStrategy>
}

/** 1 to 5 strategies with random targets and shares; some may be failed. */
const caseArb = (failures: boolean): fc.Arbitrary<Case> =>
  fc.integer({ min: 1, max: NAMES.length }).chain((k) =>
    fc
      .tuple(
        sharesArb(k),
        fc.array(targetsArb, { minLength: k, maxLength: k }),
        fc.array(failures ? fc.option(fc.string({ maxLength: 12 }), { freq: 3 }) : fc.constant(null), {
          minLength: k,
          maxLength: k
        })
      )
      .map(([shares, targets, failed]) => ({
        strategies: shares.map((share, i): BlendStrategy =>
          failed[i] === null || failed[i] === undefined
            ? { name: NAMES[i]!, share, targets: targets[i]! }
            : { name: NAMES[i]!, share, failed: failed[i] }
        )
      }))
  )

const shareOf = (s: BlendStrategy): Decimal => dec(String(s.share))

/** The combined weight of a symbol, re-derived from the inputs. */
const expectedWeights = (strategies: ReadonlyArray<BlendStrategy>): Map<string, Decimal> => {
  const out = new Map<string, Decimal>()
  for (const s of strategies) {
    if (!("targets" in s)) continue
    for (const t of s.targets.weights) out.set(t.symbol, (out.get(t.symbol) ?? D0).plus(shareOf(s).times(t.weight)))
  }
  return out
}

/** Every target's attribution: sorted by name, names unique, none negative, summing exactly to the weight. */
const attributionExplains = (targets: Targets): void => {
  for (const t of targets.weights) {
    const names = t.attribution.map((a) => a.strategy)
    check(
      names.every((n, i) => i === 0 || names[i - 1]! < n),
      () => `${t.symbol}: attribution not sorted/unique: ${names.join(",")}`
    )
    check(t.attribution.every((a) => !a.weight.lt(D0)), () => `${t.symbol}: negative attribution`)
    check(t.attribution.length > 0, () => `${t.symbol}: no attribution`)
    check(
      sum(t.attribution.map((a) => a.weight)).eq(t.weight),
      () =>
        `${t.symbol}: attribution sums to ${format(sum(t.attribution.map((a) => a.weight)))}, weight ${
          format(t.weight)
        }`
    )
  }
}

describe("blend: properties", () => {
  it("Σ combined = Σ share × Σ strategy weights, exactly; total and cash agree with the weights", () => {
    // Protects: blending never creates or loses weight (no rounding anywhere in a blend).
    fc.assert(
      fc.property(caseArb(false), ({ strategies }) => {
        const b = ok(blend(strategies))
        const expected = sum(strategies.map((s) => ("targets" in s ? shareOf(s).times(s.targets.total) : D0)))
        const total = sum(b.targets.weights.map((t) => t.weight))
        check(total.eq(expected), () => `Σ ${format(total)} ≠ ${format(expected)}`)
        check(b.targets.total.eq(total), () => "total is not Σ weights")
        check(b.targets.cash.eq(total.gte(D1) ? D0 : D1.minus(total)), () => "cash is not 1 − total")
        check(b.warnings.length === 0, () => "warnings without a failed strategy")
      }),
      RUNS
    )
  })

  it("overlapping symbols add up: each weight is Σ share × that strategy's weight; symbols sorted", () => {
    // Protects: a symbol held by several strategies gets the sum of their contributions, and no symbol appears or vanishes.
    fc.assert(
      fc.property(caseArb(false), ({ strategies }) => {
        const b = ok(blend(strategies))
        const expected = expectedWeights(strategies)
        check(b.targets.weights.length === expected.size, () => "symbol set differs")
        for (const t of b.targets.weights) {
          check(t.weight.eq(expected.get(t.symbol) ?? dec("-1")), () => `${t.symbol}: ${format(t.weight)}`)
        }
        const symbols = b.targets.weights.map((t) => t.symbol)
        check(symbols.every((s, i) => i === 0 || symbols[i - 1]! < s), () => "not sorted by symbol")
      }),
      RUNS
    )
  })

  it("attribution sums exactly to each weight, and each strategy's attribution is its share × its weight", () => {
    // Protects: every unit of weight is explained by exactly the strategies that contributed it.
    fc.assert(
      fc.property(caseArb(false), ({ strategies }) => {
        const b = ok(blend(strategies))
        attributionExplains(b.targets)
        for (const t of b.targets.weights) {
          for (const a of t.attribution) {
            const s = strategies.find((x) => x.name === a.strategy)!
            const w = "targets" in s ? s.targets.weights.find((x) => x.symbol === t.symbol)!.weight : D0
            check(a.weight.eq(shareOf(s).times(w)), () => `${t.symbol}/${a.strategy}`)
          }
        }
      }),
      RUNS
    )
  })

  it("nested blends: inner attribution is kept as outer/inner, scaled by the outer share, still summing exactly", () => {
    // Protects: a blend used as a strategy keeps explaining its weights one level down.
    fc.assert(
      fc.property(caseArb(false), caseArb(false), sharesArb(2), (inner, other, [s1, s2]) => {
        const innerTargets = ok(blend(inner.strategies)).targets
        const b = ok(
          blend([
            { name: "core", share: s1!, targets: innerTargets },
            { name: "satellite", share: s2!, targets: ok(blend(other.strategies)).targets }
          ])
        )
        attributionExplains(b.targets)
        const expected = dec(s1!).times(innerTargets.total).plus(
          dec(s2!).times(ok(blend(other.strategies)).targets.total)
        )
        check(b.targets.total.eq(expected), () => "nested total")
        for (const t of b.targets.weights) {
          for (const a of t.attribution) {
            check(/^(core|satellite)\/(growth|income|momentum|value|Z)$/.test(a.strategy), () => `name ${a.strategy}`)
            if (a.strategy.startsWith("core/")) {
              const innerT = innerTargets.weights.find((x) => x.symbol === t.symbol)!
              const innerA = innerT.attribution.find((x) => `core/${x.strategy}` === a.strategy)!
              check(a.weight.eq(dec(s1!).times(innerA.weight)), () => `${t.symbol}/${a.strategy}`)
            }
          }
        }
      }),
      RUNS
    )
  })

  it(
    "failed strategies: fail mode names the first failed strategy; cash mode" +
      " keeps its share in cash and warns for each, unless all failed",
    () => {
      // Protects: a failure is never silent — either an error naming the strategy, or a warning naming it with its reason —
      // and a warning never stands for liquidating the whole account (every strategy failed is an error in cash mode too).
      fc.assert(
        fc.property(caseArb(true), ({ strategies }) => {
          const failed = strategies.filter((s) => "failed" in s)
          const failing = blend(strategies)
          if (failed.length === 0) {
            check(Result.isSuccess(failing), () => "no failure, yet an error")
          } else {
            const e = err(failing)
            const first = failed[0] as BlendStrategy & { failed: string }
            check(e.source === "strategies" && e.path === first.name && e.message.includes(first.name), () => e.message)
          }
          const cash = blend(strategies, { onStrategyFailure: "cash" })
          if (failed.length === strategies.length) {
            const e = err(cash)
            check(e.source === "strategies" && e.path === "" && e.expected === SOME_STRATEGY, () => e.message)
            return
          }
          const b = ok(cash)
          check(b.warnings.length === failed.length, () => "one warning per failed strategy")
          b.warnings.forEach((w, i) => {
            const f = failed[i] as BlendStrategy & { failed: string }
            check(
              w.code === "STRATEGY_FAILED" && w.strategy === f.name && w.message.includes(f.failed),
              () => w.message
            )
          })
          const loaded = strategies.filter((s) => "targets" in s)
          const expected = sum(loaded.map((s) => ("targets" in s ? shareOf(s).times(s.targets.total) : D0)))
          check(b.targets.total.eq(expected), () => "failed shares must stay in cash")
          for (const t of b.targets.weights) {
            check(
              t.attribution.every((a) => !failed.some((f) => f.name === a.strategy)),
              () => "a failed strategy is attributed"
            )
          }
          attributionExplains(b.targets)
        }),
        RUNS
      )
    }
  )

  it("shares that do not sum to 1 (beyond the tolerance) are an error at 'sum of shares'", () => {
    // Protects: an allocation that over- or under-invests is rejected rather than silently renormalised.
    fc.assert(
      fc.property(
        caseArb(false),
        fc.integer({ min: -5000, max: 5000 }).filter((d) => d !== 0),
        ({ strategies }, delta) => {
          const last = strategies[strategies.length - 1]!
          const moved = dec(String(last.share)).plus(dec(scaled(delta, 8)))
          fc.pre(moved.gt(D0) && moved.lte(D1))
          const changed = [...strategies.slice(0, -1), { ...last, share: format(moved) }]
          const e = err(blend(changed))
          check(e.source === "strategies" && e.path === "sum of shares", () => e.message)
          // Within the tolerance passes.
          check(Result.isSuccess(blend(changed, { shareTolerance: dec("0.0001") })), () => "within tolerance rejected")
        }
      ),
      RUNS
    )
  })

  it("apportion: shares sum exactly to the total, none negative, each within n × 1e-12 of proportional", () => {
    // Protects: the exact split that replacement and momentum rely on.
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10 ** 12 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 10 ** 8 }),
        (raw, t) => {
          const parts = raw.map((u) => dec(scaled(u, 7)))
          const total = dec(scaled(t, 8))
          const shares = apportion(total, parts)
          check(sum(shares).eq(total), () => "Σ shares ≠ total")
          check(shares.every((s) => !s.lt(D0)), () => "negative share")
          const whole = sum(parts)
          if (whole.gt(D0)) {
            shares.forEach((s, i) => {
              const ideal = parts[i]!.times(total).div(whole)
              check(s.minus(ideal).abs().lte(dec("2e-11")), () => `share ${i}: ${format(s)} vs ${format(ideal)}`)
            })
          }
        }
      ),
      RUNS
    )
  })
})

describe("blend: examples", () => {
  const growth = targetsOf({ AAPL: "0.5", MSFT: "0.5" })
  const income = targetsOf({ BND: "0.6", MSFT: "0.2" })

  it("60/40 blend: MSFT adds up from both strategies, attribution per strategy, cash from income's 0.2", () => {
    const b = ok(
      blend([{ name: "growth", share: "0.6", targets: growth }, { name: "income", share: "0.4", targets: income }])
    )
    expect(
      b.targets.weights.map((t) => [
        t.symbol,
        format(t.weight),
        t.attribution.map((a) => `${a.strategy}=${format(a.weight)}`)
      ])
    ).toEqual([
      ["AAPL", "0.3", ["growth=0.3"]],
      ["BND", "0.24", ["income=0.24"]],
      ["MSFT", "0.38", ["growth=0.3", "income=0.08"]]
    ])
    expect([format(b.targets.total), format(b.targets.cash)]).toEqual(["0.92", "0.08"])
    expect(primaryStrategy(b.targets.weights[2]!)).toBe("growth")
  })

  it("primary strategy: the largest contributor, the first by name on a tie; none for a plain file", () => {
    const b = ok(
      blend([{ name: "zeta", share: "0.5", targets: targetsOf({ X: "1" }) }, {
        name: "alpha",
        share: "0.5",
        targets: targetsOf({ X: "1" })
      }])
    )
    expect(primaryStrategy(b.targets.weights[0]!)).toBe("alpha")
    expect(primaryStrategy(growth.weights[0]!)).toBeUndefined()
  })

  it("a nested blend is attributed outer/inner", () => {
    const inner =
      ok(blend([{ name: "growth", share: "0.5", targets: growth }, { name: "income", share: "0.5", targets: income }]))
        .targets
    const b = ok(
      blend([{ name: "core", share: "0.5", targets: inner }, {
        name: "tilt",
        share: "0.5",
        targets: targetsOf({ MSFT: "1" })
      }])
    )
    const msft = b.targets.weights.find((t) => t.symbol === "MSFT")!
    expect(msft.attribution.map((a) => `${a.strategy}=${format(a.weight)}`)).toEqual([
      "core/growth=0.125",
      "core/income=0.05",
      "tilt=0.5"
    ])
    expect(format(msft.weight)).toBe("0.675")
  })

  it("a failed strategy: an error by default, cash with a warning on request", () => {
    const strategies: Array<BlendStrategy> = [
      { name: "growth", share: "0.7", targets: growth },
      { name: "momentum", share: "0.3", failed: "no price history for XLK" }
    ]
    expect(err(blend(strategies)).message).toBe(
      "strategies: momentum: expected a strategy that produced targets (it failed;" +
        " onStrategyFailure: cash would keep its share 0.3 in cash), got \"no price history for XLK\""
    )
    const b = ok(blend(strategies, { onStrategyFailure: "cash" }))
    expect(b.warnings).toEqual([{
      code: "STRATEGY_FAILED",
      strategy: "momentum",
      message: "strategy momentum failed (no price history for XLK): its share 0.3 stays in cash"
    }])
    expect([format(b.targets.total), format(b.targets.cash)]).toEqual(["0.7", "0.3"])
  })

  it("every strategy failed: an error in cash mode too, never an empty blend with warnings", () => {
    const strategies: Array<BlendStrategy> = [
      { name: "growth", share: "0.7", failed: "no such file" },
      { name: "momentum", share: "0.3", failed: "no price history for XLK" }
    ]
    expect(err(blend(strategies, { onStrategyFailure: "cash" })).message).toBe(
      `strategies: expected ${SOME_STRATEGY}, got "2 of 2 failed"`
    )
    // One that loaded, even holding nothing, is a blend.
    const b = ok(
      blend([strategies[0]!, { name: "momentum", share: "0.3", targets: targetsOf({ "$CASH": "1" }) }], {
        onStrategyFailure: "cash"
      })
    )
    expect([format(b.targets.total), b.warnings.length]).toEqual(["0", 1])
  })

  it("validateShares checks names and shares alone, before any strategy is loaded, with blend's errors", () => {
    expect(validateShares([{ name: "a", share: "0.25" }, { name: "b", share: 0.75 }])).toEqual(
      Result.succeed([dec("0.25"), dec("0.75")])
    )
    const bad = [{ name: "a", share: "0.25" }, { name: "b", share: "0" }]
    expect(failureOf(validateShares(bad)).message).toBe(
      "strategies: b.share: expected a share greater than 0 and at most 1, got \"0\""
    )
    expect(failureOf(validateShares(bad)).message).toBe(err(blend(bad.map((s) => ({ ...s, targets: growth })))).message)
    expect(failureOf(validateShares([{ name: "a", share: "0.5" }])).path).toBe("sum of shares")
  })

  it("invalid names and shares", () => {
    const t = growth
    expect(err(blend([{ name: "a/b", share: "1", targets: t }])).message).toBe(
      "strategies: [0].name: expected a strategy name (a non-empty string without \"/\"), got \"a/b\""
    )
    expect(err(blend([{ name: "x", share: "0.5", targets: t }, { name: " x ", share: "0.5", targets: t }])).path).toBe(
      "[1].name"
    )
    expect(err(blend([{ name: "x", share: "0", targets: t }, { name: "y", share: "1", targets: t }])).message).toBe(
      "strategies: x.share: expected a share greater than 0 and at most 1, got \"0\""
    )
    expect(err(blend([{ name: "x", share: "1.5", targets: t }])).path).toBe("x.share")
    expect(err(blend([{ name: "x", share: "0.5", targets: t }, { name: "y", share: "0.4", targets: t }])).message).toBe(
      "strategies: sum of shares: expected shares that sum to 1 (tolerance 0.000000001), got \"0.9\""
    )
    expect(err(blend([])).path).toBe("sum of shares")
    // A share may be a number (as YAML gives it) or a Decimal; thirds pass within the tolerance.
    const thirds = ok(
      blend(
        [0, 1, 2].map((i) => ({ name: `s${i}`, share: i === 0 ? dec("0.3333333333") : "0.3333333333", targets: t }))
      )
    )
    expect(format(thirds.targets.total)).toBe("0.9999999999")
    expect(Result.isSuccess(blend([{ name: "x", share: 0.5, targets: t }, { name: "y", share: 0.5, targets: t }])))
      .toBe(true)
  })
})

describe("blend: totality", () => {
  it("any names, shares and failure reasons: a Blend or one InvalidInput naming `strategies`, never a throw", () => {
    // Protects: untrusted config values (names, shares, reasons) can never make the kernel throw.
    const t = targetsOf({ A: "0.5" })
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.anything(), fc.anything(), fc.option(fc.anything())), { maxLength: 4 }),
        fc.constantFrom(...OnStrategyFailure.literals),
        (raw, mode) => {
          const strategies = raw.map(([name, share, failed]) =>
            (failed === null ? { name, share, targets: t } : { name, share, failed }) as unknown as BlendStrategy
          )
          const r = blend(strategies, { onStrategyFailure: mode })
          if (Result.isFailure(r)) {
            check(
              r.failure.source === "strategies" && r.failure.message.length > 0,
              () => r.failure.message
            )
          }
        }
      ),
      RUNS
    )
  })
})
