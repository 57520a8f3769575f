/**
 * Replacement sets: the sum stays exactly at the original total (or, with `freed: cash`, never
 * grows), no weight goes negative, attribution follows the moved weight, nothing matching is
 * the identity, and set validation names the place and the value.
 */
import * as Result from "effect/Result"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  applyReplacements,
  blend,
  type Decimal,
  defaultPolicy,
  format,
  type FreedWeight,
  type Read,
  type Replaced,
  type ReplacementSet,
  replacementSet,
  type ReplacementSets,
  type Targets,
  validateReplacements,
  validateTargets
} from "../../../src/kernel/index.ts"
import { check, D0, dec, err, ok, scaled, sum } from "../helpers.ts"

const RUNS = { numRuns: 1000 }
const HELD = ["A", "B", "C", "D", "E", "F"] as const
const ELSEWHERE = ["X", "Y", "Z"] as const

const targetsOf = (weights: Record<string, string>): Targets => ok(validateTargets(weights, defaultPolicy))

/** A named set applied as the targets resolver applies it: `replacementSet`, then `applyReplacements`. */
const applyNamed = (targets: Targets, sets: ReplacementSets, name: string): Read<Replaced> =>
  Result.map(replacementSet(sets, name), (set) => applyReplacements(targets, set))

/** Plain targets: weights in millionths over a subset of HELD, summing to at most 1. */
const plainArb: fc.Arbitrary<Targets> = fc
  .dictionary(fc.constantFrom(...HELD), fc.integer({ min: 0, max: 1_000_000 }), { minKeys: 1, maxKeys: HELD.length })
  .chain((raw) =>
    fc.oneof(fc.constant(1_000_000), fc.integer({ min: 0, max: 1_000_000 })).map((budget) => {
      const keys = Object.keys(raw)
      const total = keys.reduce((s, k) => s + raw[k]!, 0)
      return targetsOf(
        Object.fromEntries(keys.map((k) => [k, scaled(total === 0 ? 0 : Math.floor((raw[k]! * budget) / total), 6)]))
      )
    })
  )

/** Attributed targets: a blend of two or three plain ones. */
const attributedArb: fc.Arbitrary<Targets> = fc
  .tuple(
    fc.array(plainArb, { minLength: 3, maxLength: 3 }),
    fc.integer({ min: 1, max: 9998 }),
    fc.integer({ min: 1, max: 9998 })
  )
  .map(([t, x, y]) => {
    const [lo, hi] = x === y ? [x, x + 1] : [Math.min(x, y), Math.max(x, y)]
    const shares = [scaled(lo, 4), scaled(hi - lo, 4), scaled(10_000 - hi, 4)]
    return ok(blend(["s1", "s2", "s3"].map((name, i) => ({ name, share: shares[i]!, targets: t[i]! })))).targets
  })

const targetsArb = fc.oneof(plainArb, attributedArb)

const scaleArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("1", "3", "2", "0.5", "0.25", "1.5"),
  fc.integer({ min: 1, max: 5_000 }).map((u) => scaled(u, 3))
)

/** A raw set: unique sources, each with a different target (chains allowed), scale sometimes left out. */
const rulesArb = (
  sources: ReadonlyArray<string>,
  targets: ReadonlyArray<string>,
  scales: fc.Arbitrary<string> = scaleArb
): fc.Arbitrary<Array<Record<string, string>>> =>
  fc.uniqueArray(fc.constantFrom(...sources), { minLength: 1, maxLength: 4 }).chain((from) =>
    fc.tuple(
      ...from.map((source) =>
        fc.record({
          target: fc.constantFrom(...targets.filter((t) => t !== source)),
          scale: fc.option(scales, { freq: 4 })
        }).map(({ target, scale }) => scale === null ? { source, target } : { source, target, scale })
      )
    )
  )

/** A validated set of the raw rules: the plain list form (freed weight reinvested), or `{ rules, freed }`. */
const setOf = (freed?: FreedWeight) => (raw: Array<Record<string, string>>): ReplacementSet =>
  ok(validateReplacements({ s: freed === undefined ? raw : { rules: raw, freed } })).get("s")!

const freedArb: fc.Arbitrary<FreedWeight | undefined> = fc.constantFrom(undefined, "reinvest", "cash")

/** Rules over HELD and ELSEWHERE, in either freed mode. */
const anySetArb = (
  sources: ReadonlyArray<string>,
  targets: ReadonlyArray<string>,
  scales?: fc.Arbitrary<string>
): fc.Arbitrary<ReplacementSet> =>
  fc.tuple(rulesArb(sources, targets, scales), freedArb).map(([raw, freed]) => setOf(freed)(raw))

const ALL = [...HELD, ...ELSEWHERE]
const caseArb = fc.tuple(targetsArb, anySetArb(ALL, ALL))

const weightOf = (t: Targets, symbol: string): Decimal => t.weights.find((x) => x.symbol === symbol)?.weight ?? D0

const render = (r: Replaced): string =>
  JSON.stringify({
    weights: r.targets.weights.map((
      t
    ) => [t.symbol, format(t.weight), t.attribution.map((a) => [a.strategy, format(a.weight)])]),
    total: format(r.targets.total),
    cash: format(r.targets.cash)
  })

describe("replacement: properties", () => {
  it("sum preserved: by default the sum is exactly the original total, whatever the scales", () => {
    // Protects: a replacement changes what is held, never how much is invested (the "keeps the sum at its original total").
    fc.assert(
      fc.property(targetsArb, rulesArb(ALL, ALL).map(setOf()), (targets, set) => {
        const r = applyReplacements(targets, set)
        const original = sum(targets.weights.map((t) => t.weight))
        const total = sum(r.targets.weights.map((t) => t.weight))
        check(total.eq(original), () => `Σ ${format(total)} ≠ original ${format(original)}`)
        check(r.targets.total.eq(total), () => "total is not Σ weights")
      }),
      RUNS
    )
  })

  it("freed: cash: the sum is min(original, kept + Σ moved × scale), exactly", () => {
    // Protects: the opt-in for leveraged substitutes never invests more than the targets did, leaves freed weight in
    // cash, and loses nothing to rounding.
    fc.assert(
      fc.property(targetsArb, rulesArb(ALL, ALL).map(setOf("cash")), (targets, set) => {
        const r = applyReplacements(targets, set)
        const symbols = new Set(targets.weights.map((t) => t.symbol))
        const matched = set.rules.filter((x) => symbols.has(x.source))
        const sources = new Set(matched.map((x) => x.source))
        const kept = sum(targets.weights.filter((t) => !sources.has(t.symbol)).map((t) => t.weight))
        const moved = sum(matched.map((x) => weightOf(targets, x.source).times(x.scale)))
        const original = sum(targets.weights.map((t) => t.weight))
        const expected = kept.plus(moved).gt(original) ? original : kept.plus(moved)
        const total = sum(r.targets.weights.map((t) => t.weight))
        check(total.eq(expected), () => `Σ ${format(total)} ≠ ${format(expected)}`)
        check(r.targets.total.eq(total), () => "total is not Σ weights")
      }),
      RUNS
    )
  })

  it("no weight or attribution goes negative; sources leave, targets arrive; substitutions report the original source weight", () => {
    // Protects: replacement never creates a short position, and reports exactly what it moved.
    fc.assert(
      fc.property(caseArb, ([targets, set]) => {
        const r = applyReplacements(targets, set)
        for (const t of r.targets.weights) {
          check(!t.weight.lt(D0), () => `${t.symbol}: ${format(t.weight)}`)
          check(t.attribution.every((a) => !a.weight.lt(D0)), () => `${t.symbol}: negative attribution`)
        }
        const symbols = new Set(targets.weights.map((t) => t.symbol))
        const matched = set.rules.filter((x) => symbols.has(x.source))
        const after = new Set(r.targets.weights.map((t) => t.symbol))
        const targetsOfRules = new Set(matched.map((x) => x.target))
        for (const x of matched) {
          check(after.has(x.target), () => `${x.target} missing`)
          if (!targetsOfRules.has(x.source)) check(!after.has(x.source), () => `${x.source} still targeted`)
        }
        check(r.substitutions.length === matched.length, () => "one substitution per matched rule")
        r.substitutions.forEach((s, i) => {
          const x = matched[i]!
          check(s.source === x.source && s.target === x.target && s.scale.eq(x.scale), () => "substitution order")
          check(s.weightMoved.eq(weightOf(targets, x.source)), () => `${s.source}: weightMoved`)
          check(!s.weightAdded.lt(D0), () => `${s.source}: weightAdded`)
        })
      }),
      RUNS
    )
  })

  it("freed: cash with scales ≤ 1 never squeezes: kept weights are untouched and each target receives exactly source × scale", () => {
    // Protects: with freed: cash, excess is only taken when there is excess; otherwise replacement is plain exact arithmetic.
    const atMostOne = fc.oneof(fc.constantFrom("1", "0.5"), fc.integer({ min: 1, max: 1000 }).map((u) => scaled(u, 3)))
    fc.assert(
      fc.property(targetsArb, rulesArb(ALL, ALL, atMostOne).map(setOf("cash")), (targets, set) => {
        const r = applyReplacements(targets, set)
        const sources = new Set(r.substitutions.map((s) => s.source))
        const received = new Map<string, Decimal>()
        for (const s of r.substitutions) {
          check(
            s.weightAdded.eq(s.weightMoved.times(s.scale)),
            () => `${s.source}: weightAdded ${format(s.weightAdded)}`
          )
          received.set(s.target, (received.get(s.target) ?? D0).plus(s.weightAdded))
        }
        for (const t of r.targets.weights) {
          const own = sources.has(t.symbol) ? D0 : weightOf(targets, t.symbol)
          check(t.weight.eq(own.plus(received.get(t.symbol) ?? D0)), () => `${t.symbol}: ${format(t.weight)}`)
        }
      }),
      RUNS
    )
  })

  it("by default, weight freed by scales ≤ 1 goes to the kept symbols in proportion; targets receive exactly source × scale", () => {
    // Protects: freed weight is reinvested the way an excess is taken: pro rata over the kept weights, none shrinking,
    // none favoured beyond rounding.
    const atMostOne = fc.oneof(
      fc.constantFrom("1", "0.5", "0.25"),
      fc.integer({ min: 1, max: 1000 }).map((u) => scaled(u, 3))
    )
    fc.assert(
      fc.property(targetsArb, rulesArb(ALL, ALL, atMostOne).map(setOf()), (targets, set) => {
        const r = applyReplacements(targets, set)
        const sources = new Set(r.substitutions.map((s) => s.source))
        const kept = targets.weights.filter((t) => !sources.has(t.symbol))
        const keptSum = sum(kept.map((t) => t.weight))
        fc.pre(r.substitutions.length > 0 && keptSum.gt(D0))
        const added = sum(r.substitutions.map((s) => s.weightAdded))
        const received = new Map<string, Decimal>()
        for (const s of r.substitutions) {
          check(
            s.weightAdded.eq(s.weightMoved.times(s.scale)),
            () => `${s.source}: weightAdded ${format(s.weightAdded)}`
          )
          received.set(s.target, (received.get(s.target) ?? D0).plus(s.weightAdded))
        }
        // What the kept symbols hold together: the original total less what the targets received.
        const pool = sum(targets.weights.map((t) => t.weight)).minus(added)
        // Within one unit of the 12th place per kept symbol of its exact share w × pool / keptSum (cross-multiplied, no division).
        const slack = dec("1e-12").times(dec(String(kept.length))).times(keptSum)
        for (const t of kept) {
          const now = weightOf(r.targets, t.symbol).minus(received.get(t.symbol) ?? D0)
          check(!now.lt(t.weight), () => `${t.symbol}: kept weight shrank to ${format(now)}`)
          check(
            now.times(keptSum).minus(t.weight.times(pool)).abs().lte(slack),
            () => `${t.symbol}: ${format(now)} is not its share of ${format(pool)}`
          )
        }
      }),
      RUNS
    )
  })

  it("attribution still sums exactly to each weight (attributed targets); plain targets stay unattributed", () => {
    // Protects: every weight stays explained by strategy after moving, scaling and squeezing.
    fc.assert(
      fc.property(fc.boolean(), attributedArb, plainArb, anySetArb([...HELD], ALL), (attributed, a, p, set) => {
        const r = applyReplacements(attributed ? a : p, set)
        for (const t of r.targets.weights) {
          if (!attributed) check(t.attribution.length === 0, () => `${t.symbol}: attributed`)
          else {check(
              sum(t.attribution.map((x) => x.weight)).eq(t.weight),
              () => `${t.symbol}: attribution ${format(sum(t.attribution.map((x) => x.weight)))} ≠ ${format(t.weight)}`
            )}
        }
        if (attributed) {
          const names = (x: Targets) =>
            new Set(x.weights.flatMap((t) => t.attribution.filter((y) => y.weight.gt(D0)).map((y) => y.strategy)))
          for (const n of names(r.targets)) check(names(a).has(n), () => `new strategy ${n}`)
        }
      }),
      RUNS
    )
  })

  it("a set that matches nothing is the identity: the same targets, no substitutions", () => {
    // Protects: a replacement set for symbols the strategy does not hold changes nothing at all.
    fc.assert(
      fc.property(targetsArb, anySetArb([...ELSEWHERE], ALL), (targets, set) => {
        const r = applyReplacements(targets, set)
        check(r.targets === targets && r.substitutions.length === 0, () => "not the identity")
      }),
      RUNS
    )
  })

  it("a set without chains is idempotent: applying it twice is applying it once", () => {
    // Protects: re-running a replacement (e.g. on already replaced targets) cannot move weight again.
    fc.assert(
      fc.property(targetsArb, anySetArb([...HELD.slice(0, 3)], [...HELD.slice(3), ...ELSEWHERE]), (targets, set) => {
        const once = applyReplacements(targets, set)
        const twice = applyReplacements(once.targets, set)
        check(
          twice.substitutions.length === 0 && render(twice) === render(once),
          () => `${render(once)} vs ${render(twice)}`
        )
      }),
      RUNS
    )
  })
})

describe("replacement: examples", () => {
  const sets: ReplacementSets = ok(
    validateReplacements({
      ira: [{ source: "TQQQ", target: "QQQ", scale: 3 }],
      taxable: [{ source: " VTI ", target: "ITOT" }],
      chain: [
        { source: "A", target: "B" },
        { source: "B", target: "C" }
      ],
      swap: [
        { source: "A", target: "B", scale: "2" },
        { source: "B", target: "A" }
      ],
      half: [{ source: "A", target: "B", scale: "0.5" }],
      halfToCash: { freed: "cash", rules: [{ source: "A", target: "B", scale: "0.5" }] },
      growth: [{ source: "VTI", target: "VUG", scale: "0.5" }],
      empty: []
    })
  )
  const rows = (r: Replaced) => r.targets.weights.map((t) => [t.symbol, format(t.weight)])

  it("validates: scale defaults to 1, symbols are trimmed, set order is kept", () => {
    expect(sets.get("taxable")).toEqual({
      rules: [{ source: "VTI", target: "ITOT", scale: dec("1") }],
      freed: "reinvest"
    })
    expect(sets.get("halfToCash")).toEqual({ rules: [{ source: "A", target: "B", scale: dec("0.5") }], freed: "cash" })
    expect(ok(validateReplacements({ x: { rules: [] } })).get("x")).toEqual({ rules: [], freed: "reinvest" })
    expect([...sets.keys()]).toEqual(["ira", "taxable", "chain", "swap", "half", "halfToCash", "growth", "empty"])
    expect(ok(validateReplacements(undefined)).size).toBe(0)
  })

  it("TQQQ ×3 → QQQ: the excess comes from the other weights in proportion; the sum stays exactly 1", () => {
    // 0.3 × 3 = 0.9 to QQQ; the kept 0.2 (QQQ's own) + 0.5 (BND) = 0.7 must shrink to 0.1:
    // factor 0.1/0.7 rounded down at 12 places, the last 1e-12 to the largest (BND).
    const r = ok(applyNamed(targetsOf({ TQQQ: "0.3", QQQ: "0.2", BND: "0.5" }), sets, "ira"))
    expect(rows(r)).toEqual([
      ["BND", "0.071428571429"],
      ["QQQ", "0.928571428571"]
    ])
    expect(format(r.targets.total)).toBe("1")
    expect(
      r.substitutions.map((s) => [s.source, s.target, format(s.scale), format(s.weightMoved), format(s.weightAdded)])
    ).toEqual([["TQQQ", "QQQ", "3", "0.3", "0.9"]])
  })

  it("moves larger than the total: the others go to 0 and the moved weight is scaled to the original total", () => {
    const r = ok(applyNamed(targetsOf({ TQQQ: "0.5", BND: "0.4" }), sets, "ira"))
    expect(rows(r)).toEqual([
      ["BND", "0"],
      ["QQQ", "0.9"]
    ])
    expect(format(r.substitutions[0]!.weightAdded)).toBe("0.9")
  })

  it("scale 1 is a plain move: merged into a target already held, nothing squeezed, cash unchanged", () => {
    const r = ok(applyNamed(targetsOf({ VTI: "0.3", ITOT: "0.2", BND: "0.4" }), sets, "taxable"))
    expect(rows(r)).toEqual([
      ["BND", "0.4"],
      ["ITOT", "0.5"]
    ])
    expect(format(r.targets.cash)).toBe("0.1")
  })

  it("a scale below 1 keeps the total: the freed weight goes to the kept symbols in proportion", () => {
    // VTI 0.5 → VUG 0.25 frees 0.25; BND is the only kept symbol: 0.3 + 0.25. The total stays 0.8.
    const r = ok(applyNamed(targetsOf({ VTI: "0.5", BND: "0.3" }), sets, "growth"))
    expect(rows(r)).toEqual([
      ["BND", "0.55"],
      ["VUG", "0.25"]
    ])
    expect(format(r.targets.total)).toBe("0.8")
    // Two kept symbols share it 3:1: A 0.6 → B 0.3 frees 0.3, so C 0.3 + 0.225 and D 0.1 + 0.075.
    const two = ok(applyNamed(targetsOf({ A: "0.6", C: "0.3", D: "0.1" }), sets, "half"))
    expect(rows(two)).toEqual([
      ["B", "0.3"],
      ["C", "0.525"],
      ["D", "0.175"]
    ])
    expect(format(two.targets.total)).toBe("1")
  })

  it("a scale below 1 with nothing kept: the moved targets are scaled back up to the total", () => {
    const r = ok(applyNamed(targetsOf({ A: "0.6" }), sets, "half"))
    expect(rows(r)).toEqual([["B", "0.6"]])
    expect(format(r.substitutions[0]!.weightAdded)).toBe("0.6")
  })

  it("freed: cash keeps the old behaviour: the freed weight stays in cash", () => {
    const r = ok(applyNamed(targetsOf({ A: "0.8", C: "0.2" }), sets, "halfToCash"))
    expect(rows(r)).toEqual([
      ["B", "0.4"],
      ["C", "0.2"]
    ])
    expect(format(r.targets.cash)).toBe("0.4")
    // An excess is still taken from the kept weights.
    const lev = ok(
      applyNamed(
        targetsOf({ A: "0.6", C: "0.4" }),
        ok(validateReplacements({ x: { freed: "cash", rules: [{ source: "A", target: "B", scale: 2 }] } })),
        "x"
      )
    )
    expect(rows(lev)).toEqual([
      ["B", "1"],
      ["C", "0"]
    ])
  })

  it("chains apply once, to the original weights: A→B, B→C moves A to B and B's own weight to C", () => {
    const r = ok(applyNamed(targetsOf({ A: "0.2", B: "0.3", C: "0.1" }), sets, "chain"))
    expect(rows(r)).toEqual([
      ["B", "0.2"],
      ["C", "0.4"]
    ])
    const swapped = ok(applyNamed(targetsOf({ A: "0.2", B: "0.3" }), sets, "swap"))
    // A's 0.2 × 2 = 0.4 to B and B's 0.3 to A: 0.7 ≤ 0.5? no — 0.7 > 0.5, nothing kept, so both scale by 0.5/0.7.
    expect(format(swapped.targets.total)).toBe("0.5")
    expect(rows(swapped)).toEqual([
      ["A", "0.214285714285"],
      ["B", "0.285714285715"]
    ])
  })

  it("attribution follows the moved weight, scaled", () => {
    const t = ok(
      blend([{ name: "lev", share: "0.5", targets: targetsOf({ TQQQ: "0.2" }) }, {
        name: "core",
        share: "0.5",
        targets: targetsOf({ QQQ: "0.4", BND: "0.6" })
      }])
    ).targets
    const r = ok(applyNamed(t, sets, "ira"))
    // Total 0.6; TQQQ's 0.1 × 3 = 0.3 to QQQ, so the kept 0.5 (core's QQQ 0.2, BND 0.3) shrinks to 0.3.
    expect(
      r.targets.weights.map((x) => [
        x.symbol,
        format(x.weight),
        x.attribution.map((a) => `${a.strategy}=${format(a.weight)}`)
      ])
    ).toEqual([
      ["BND", "0.18", ["core=0.18"]],
      ["QQQ", "0.42", ["core=0.12", "lev=0.3"]]
    ])
  })

  it("no match, or an empty set, is the identity", () => {
    const t = targetsOf({ SPY: "1" })
    expect(ok(applyNamed(t, sets, "ira")).targets).toBe(t)
    expect(ok(applyNamed(t, sets, "empty")).substitutions).toEqual([])
  })

  it("an unknown set names it and lists the known ones", () => {
    expect(err(applyNamed(targetsOf({ SPY: "1" }), sets, "roth")).message).toBe(
      "replacements: roth: expected a defined replacement set (chain, empty, growth, half, halfToCash, ira, swap, taxable), got \"roth\""
    )
    expect(err(applyNamed(targetsOf({ SPY: "1" }), new Map(), "roth")).expected).toBe(
      "a defined replacement set (none are defined)"
    )
  })

  it("invalid sets name the place and the value", () => {
    const where = (input: unknown): [string, string, string] => {
      const e = err(validateReplacements(input))
      return [e.source, e.path, e.value]
    }
    expect(where([])).toEqual(["replacements", "", "a list"])
    expect(where({ ira: { source: "A" } })).toEqual(["replacements", "ira.source", "\"source\""])
    expect(where({ ira: "A" })).toEqual(["replacements", "ira", "\"A\""])
    expect(where({ ira: { freed: "cash" } })).toEqual(["replacements", "ira.rules", "nothing"])
    expect(where({ ira: { freed: "bonds", rules: [] } })).toEqual(["replacements", "ira.freed", "\"bonds\""])
    expect(where({ ira: { rules: [{ source: "A", target: "B", scale: 0 }] } })).toEqual([
      "replacements",
      "ira.rules[0].scale",
      "0"
    ])
    expect(err(validateReplacements({ ira: { freed: "bonds", rules: [] } })).message).toBe(
      "replacements: ira.freed: expected reinvest or cash, got \"bonds\""
    )
    expect(err(validateReplacements({ ira: { rule: [] } })).message).toBe(
      "replacements: ira.rule: expected a replacement set field (rules, freed), got \"rule\""
    )
    expect(where({ ira: ["A"] })).toEqual(["replacements", "ira[0]", "\"A\""])
    expect(where({ ira: [{ source: "A", target: "B", scael: 2 }] })).toEqual([
      "replacements",
      "ira[0].scael",
      "\"scael\""
    ])
    expect(where({ ira: [{ source: "", target: "B" }] })).toEqual(["replacements", "ira[0].source", "\"\""])
    expect(where({ ira: [{ source: "A" }] })).toEqual(["replacements", "ira[0].target", "nothing"])
    expect(where({ ira: [{ source: "A", target: " A" }] })).toEqual(["replacements", "ira[0].target", "\" A\""])
    expect(where({ ira: [{ source: "A", target: "B", scale: 0 }] })).toEqual(["replacements", "ira[0].scale", "0"])
    expect(where({ ira: [{ source: "A", target: "B", scale: "-1" }] })).toEqual([
      "replacements",
      "ira[0].scale",
      "\"-1\""
    ])
    expect(where({ ira: [{ source: "A", target: "B" }, { source: "A", target: "C" }] })).toEqual([
      "replacements",
      "ira[1].source",
      "\"A\""
    ])
    expect(where({ ira: [], " ira": [] })).toEqual(["replacements", "[\" ira\"]", "\" ira\""])
    expect(err(validateReplacements({ ira: [{ source: "A", target: "B", scale: 0 }] })).message).toBe(
      "replacements: ira[0].scale: expected a positive decimal, got 0"
    )
  })
})

describe("replacement: totality", () => {
  it("any input: replacement sets or one InvalidInput naming `replacements`, never a throw", () => {
    // Protects: a malformed replacements file is always reported, never crashes the run.
    const rule = fc.record({
      source: fc.oneof(fc.constantFrom("A", "B", " A"), fc.anything()),
      target: fc.oneof(fc.constantFrom("A", "B", "C"), fc.anything()),
      scale: fc.oneof(fc.constantFrom("2", "0", "-1", 3), fc.anything())
    }, { requiredKeys: [] })
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.array(rule, { maxLength: 3 }), fc.anything()))
        ),
        (input) => {
          const r = validateReplacements(input)
          if (Result.isFailure(r)) {
            check(r.failure.source === "replacements" && r.failure.message.length > 0, () => r.failure.message)
          } else for (const set of r.success.values()) applyReplacements(targetsOf({ A: "0.5", B: "0.5" }), set)
        }
      ),
      RUNS
    )
  })
})
