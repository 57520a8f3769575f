/**
 * Totality: `rebalance` answers every input with a Result — a plan, or one InvalidInput that
 * names the input, the place and the value — and never throws.
 */
import * as Result from "effect/Result"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  format,
  InvalidInput,
  NO_TARGETS,
  type Rebalance,
  rebalance,
  type RebalanceInput,
  show
} from "../../../src/kernel/index.ts"
import { check, D0, sum } from "../helpers.ts"

const SOURCES = new Set(["snapshot", "targets", "policy"])
const LINE_BREAK = /[\n\r\u2028\u2029]/

/** Calls the kernel, turning a throw into a test failure with the exception. */
const attempt = (input: RebalanceInput): unknown => {
  try {
    return rebalance(input)
  } catch (e) {
    throw new Error(`rebalance threw: ${e instanceof Error ? `${e.name}: ${e.message}` : show(e)}`, { cause: e })
  }
}

/** A failure is one well-formed InvalidInput; a plan keeps the cash and quantity invariants. */
const wellFormed = (input: RebalanceInput, r: unknown): void => {
  check(Result.isResult(r), () => `not a Result: ${show(r)}`)
  const result = r as Result.Result<Rebalance, InvalidInput>
  if (Result.isFailure(result)) {
    const f = result.failure
    check(f instanceof InvalidInput && f._tag === "InvalidInput", () => `not an InvalidInput: ${show(f)}`)
    check(SOURCES.has(f.source), () => `source ${f.source}`)
    check(typeof f.path === "string", () => "path is not a string")
    check(typeof f.expected === "string" && f.expected.length > 0, () => "empty expected")
    check(typeof f.value === "string" && f.value.length > 0, () => "empty value")
    const message = f.message
    check(
      typeof message === "string" && message.length > 0 && !LINE_BREAK.test(message),
      () => `message is not one line: ${JSON.stringify(message)}`
    )
    check(
      message.includes(f.expected) && message.endsWith(f.value),
      () => `message ${JSON.stringify(message)} lacks expected or value`
    )
    // An empty path means the whole input is at fault (not an object, list or map).
    if (f.path === "") {
      const whole = f.source === "snapshot" ? input.snapshot : f.source === "targets" ? input.targets : input.policy
      // …or it names nothing at all: a map or list of targets without one entry.
      check(
        f.value === show(whole) || (f.source === "targets" && f.value === "none" && f.expected === NO_TARGETS),
        () => `empty path, but value ${f.value} is not the whole ${f.source} (${show(whole)})`
      )
    } else {
      check(
        message.startsWith(`${f.source}: ${f.path}: expected `),
        () => `message ${JSON.stringify(message)} does not name ${f.source}: ${f.path}`
      )
    }
    return
  }
  const plan = result.success
  const { orders, cash } = plan.orders
  for (const o of orders) {
    check(
      o.quantity.gt(D0) && o.value.eq(o.quantity.times(o.price)),
      () => `${o.symbol}: bad order ${format(o.quantity)}`
    )
  }
  const sold = sum(orders.filter((o) => o.side === "sell").map((o) => o.value))
  const bought = sum(orders.filter((o) => o.side === "buy").map((o) => o.value))
  check(cash.after.eq(cash.before.plus(sold).minus(bought)), () => "cash does not add up")
  check(!cash.after.lt(D0), () => `cash.after ${format(cash.after)} < 0`)
  for (const l of plan.lines) {
    check(!l.finalQuantity.lt(D0), () => `${l.line.symbol}: final quantity ${format(l.finalQuantity)}`)
  }
}

// ---------------------------------------------------------------------------------------
// Structurally plausible, often malformed input
// ---------------------------------------------------------------------------------------

/**
 * Object keys, including empty ones and ones with line breaks (paths must stay one line).
 */
const KEY = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "\n", "A\nB", "\r", "\r\n", "\u2028", "A\u2029", "a.b", "[0]", "\"") }
)

const oddNumbers = [
  "1e999",
  "-1e999",
  "1e-999",
  "NaN",
  "Infinity",
  "-Infinity",
  "-0",
  "+0",
  "+1",
  " 1 ",
  "1 000",
  "1,5",
  "0x10",
  "0b1",
  "1_000",
  ".5",
  "5.",
  "-.5",
  "--1",
  "+-1",
  "1e",
  "e5",
  "",
  "  ",
  "١٢",
  "１",
  "1e+15",
  "999999999999999",
  "1000000000000000",
  "0.000000000000000000001",
  "0.00000000000000000001",
  "1e-20",
  "1E2",
  "1.2.3",
  "\u00a01",
  "1".repeat(65),
  "0.".padEnd(70, "1"),
  "null",
  "true",
  "[]",
  "{}",
  "Infinity1",
  "1e308",
  "4.9e-324"
]

/** Mostly `good`, sometimes `bad`: each field is wrong now and then, so later fields get read too. */
const sometimes = (good: fc.Arbitrary<unknown>, bad: fc.Arbitrary<unknown>, badWeight = 1): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 8, arbitrary: good }, { weight: badWeight, arbitrary: bad })

/** A decimal field: valid most of the time, else strange text, odd numbers or another type. */
const decimalish: fc.Arbitrary<unknown> = sometimes(
  fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 100_000 }).map((n) => (n / 100).toFixed(2)) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 1000 }) },
    { weight: 1, arbitrary: fc.constantFrom("0", "0.5", "1", "0.001", "1e2", "2.5E-1", "+1", " 1 ", "-0", "1E2") }
  ),
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...oddNumbers) },
    { weight: 2, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.integer({ min: -1000, max: -1 }) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.bigInt(),
        fc.boolean(),
        fc.constant(null),
        fc.constant(undefined),
        fc.string({ maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 2 }),
        fc.object({ key: KEY, maxDepth: 1 })
      )
    }
  )
)

/** A weight: like a decimal, more often in [0, 1]. */
const weightish: fc.Arbitrary<unknown> = sometimes(
  fc.integer({ min: 0, max: 2000 }).map((n) => (n / 10_000).toFixed(4)),
  decimalish
)

/** Symbols a reader must not trip on: empty or blank, spaces around, a line break, path syntax, Object.prototype names, non-ASCII. */
const ODD_SYMBOLS = [
  " A",
  "A ",
  " AAPL",
  "\tB",
  "",
  " ",
  "\t",
  "A\nB",
  "A.B",
  "A[0]",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "é",
  "😀"
]

const symbolish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom("A", "B", "C", "a", "AAPL") },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_SYMBOLS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.integer(),
      fc.constant(null),
      fc.constant(undefined),
      fc.boolean(),
      fc.array(fc.string(), { maxLength: 1 }),
      fc.object({ key: KEY, maxDepth: 0 })
    )
  }
)

/** Keys for the map form: strings only (object keys), often duplicates after trimming. */
const keyish: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom("A", "B", "C", "a", "AAPL") },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_SYMBOLS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }) }
)

const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.string({ maxLength: 5 }),
  fc.double(),
  fc.boolean(),
  fc.array(fc.anything({ key: KEY, maxDepth: 1 }), { maxLength: 3 }),
  fc.anything({ key: KEY, maxDepth: 2 })
)

/** Per-symbol input in the list form, the map form, or junk. */
const perSymbol = (
  keyField: string,
  value: fc.Arbitrary<unknown>,
  valueField: string | undefined
): fc.Arbitrary<unknown> => {
  const item = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.tuple(symbolish, value).map(([symbol, v]) => (valueField === undefined
        ? { [keyField]: symbol, ...(v as object) }
        : { [keyField]: symbol, [valueField]: v })
      )
    },
    { weight: 1, arbitrary: fc.record({ [keyField]: symbolish }, { requiredKeys: [] }) },
    { weight: 1, arbitrary: junk }
  )
  return fc.oneof(
    { weight: 5, arbitrary: fc.array(item, { maxLength: 5 }) },
    {
      weight: 5,
      arbitrary: fc.array(fc.tuple(keyish, value), { maxLength: 5 }).map((pairs) => Object.fromEntries(pairs))
    },
    { weight: 1, arbitrary: junk }
  )
}

const quoteish: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({ bid: decimalish, ask: decimalish, last: decimalish, close: decimalish }, {
      requiredKeys: []
    })
  },
  { weight: 1, arbitrary: junk }
)

const snapshotish: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record(
      {
        cash: decimalish,
        positions: perSymbol("symbol", decimalish, "quantity"),
        quotes: perSymbol("symbol", quoteish, undefined),
        extra: junk
      },
      { requiredKeys: ["cash"] }
    )
  },
  { weight: 1, arbitrary: junk }
)

const policyish: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record(
      {
        shares: sometimes(
          fc.constantFrom("whole", "fractional"),
          fc.oneof(fc.constantFrom("Whole", " whole", ""), junk)
        ),
        quantityDecimals: sometimes(
          fc.integer({ min: 0, max: 9 }),
          fc.oneof(fc.constantFrom(-1, 10, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "3", -0), junk)
        ),
        lotSizes: sometimes(
          perSymbol(
            "symbol",
            sometimes(
              fc.constantFrom(1, 10, "100", "1e2", " 5 "),
              fc.oneof(fc.constantFrom("0", "-5", "1.5", "1e999", 0.5, "1e-1"), decimalish)
            ),
            "lotSize"
          ),
          junk,
          2
        ),
        cashReserve: decimalish,
        minCash: decimalish,
        driftBand: decimalish,
        relativeDriftBand: decimalish,
        minOrderValue: decimalish,
        mode: sometimes(
          fc.constantFrom("full", "buy-only", "sell-only"),
          fc.oneof(fc.constantFrom("buy", "FULL"), junk)
        ),
        liquidateUntargeted: sometimes(fc.boolean(), fc.constantFrom("true", 0, 1, null)),
        exclude: sometimes(fc.array(symbolish, { maxLength: 3 }), junk),
        buyPriceBuffer: decimalish,
        weightTolerance: sometimes(
          fc.constantFrom("0", "0.001", "1e-9"),
          fc.oneof(fc.constantFrom("0.0011", "-1e-9"), decimalish)
        )
      },
      { requiredKeys: [] }
    )
  },
  {
    weight: 1,
    arbitrary: fc.record({
      driftband: decimalish,
      Shares: fc.constant("whole"),
      " mode": fc.constant("full"),
      "mode\n": fc.constant("full"),
      "": fc.constant(1),
      ["__proto__"]: fc.constant(1)
    }, { requiredKeys: [] })
  },
  { weight: 1, arbitrary: junk }
)

/** A valid snapshot and targets, so the policy (and deeper fields) get read too. */
const validSnapshot = fc.constant({
  cash: "1000",
  positions: { A: "3" },
  quotes: { A: { bid: "10", ask: "10.5" }, B: { last: "20" } }
})
const validTargets = fc.constant({ A: "0.4", B: "0.5" })

describe("totality", () => {
  it("11. any value at all: never throws, always one Result", () => {
    // Invariant: for arbitrary JS values as snapshot, targets and policy, `rebalance` returns
    // a Result; a failure is an InvalidInput with a known source, a non-empty expected and
    // value, a one-line message naming them, and a path that is empty only when the whole
    // input is at fault; a success keeps the cash and quantity invariants.
    const anything = fc.anything({
      key: KEY,
      maxDepth: 3,
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withNullPrototype: true,
      withObjectString: true,
      withSet: true,
      withSparseArray: true,
      withTypedArray: true
    })
    fc.assert(
      fc.property(
        fc.oneof(anything, snapshotish, validSnapshot),
        fc.oneof(anything, perSymbol("symbol", weightish, "weight"), validTargets),
        fc.oneof(anything, policyish, fc.constant(undefined)),
        (snapshot, targets, policy) => {
          const input = { snapshot, targets, policy }
          wellFormed(input, attempt(input))
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("11b. structurally plausible but malformed input: never throws, always one well-formed Result", () => {
    // Invariant: as 11, for inputs shaped like the real thing whose numbers are odd strings,
    // NaN, ±Infinity, negative or out of range ("1e999"), whose symbols are empty, padded,
    // duplicated after trimming or not strings, and whose lists hold junk.
    let failures = 0
    let plans = 0
    fc.assert(
      fc.property(
        fc.oneof({ weight: 3, arbitrary: snapshotish }, { weight: 1, arbitrary: validSnapshot }),
        fc.oneof({ weight: 3, arbitrary: perSymbol("symbol", weightish, "weight") }, {
          weight: 1,
          arbitrary: validTargets
        }),
        fc.oneof({ weight: 3, arbitrary: policyish }, { weight: 1, arbitrary: fc.constant(undefined) }),
        (snapshot, targets, policy) => {
          const input = { snapshot, targets, policy }
          const r = attempt(input)
          wellFormed(input, r)
          if (Result.isResult(r) && Result.isSuccess(r)) plans++
          else failures++
        }
      ),
      { numRuns: 1000 }
    )
    // Both outcomes are exercised (not a tautology: the generator reaches the planner).
    expect(plans).toBeGreaterThan(20)
    expect(failures).toBeGreaterThan(200)
  })
})
