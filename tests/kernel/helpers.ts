/**
 * Shared test helpers for the kernel suite: an exact-decimal oracle, a scenario generator
 * (small universes, bounded magnitudes), input builders and a canonical rendering.
 *
 * The oracle never calls kernel helpers to decide what is right (steps, prices and sums are
 * re-derived here from the raw input); it only reads the kernel's output.
 */
import * as Result from "effect/Result"
import fc from "fast-check"
import {
  CASH,
  Decimal,
  format,
  type InvalidInput,
  type Rebalance,
  rebalance,
  type RebalanceInput,
  type ShareMode,
  type TradeMode
} from "../../src/kernel/index.ts"

/** An exact decimal from its text (never from a JS number). */
export const dec = (text: string): Decimal => new Decimal(text)

export const D0 = dec("0")
export const D1 = dec("1")

/** The exact decimal text of `units` × 10^-places, built without floating point. */
export const scaled = (units: number, places: number): string => {
  if (!Number.isSafeInteger(units)) throw new Error(`not a safe integer: ${units}`)
  const negative = units < 0
  const digits = String(Math.abs(units)).padStart(places + 1, "0")
  const text = places === 0
    ? digits
    : `${digits.slice(0, digits.length - places)}.${digits.slice(digits.length - places)}`
  return negative ? `-${text}` : text
}

/** The value of a kernel reader that must succeed; a failure is thrown with its message. */
export const ok = <A>(r: Result.Result<A, InvalidInput>): A => {
  if (Result.isFailure(r)) throw new Error(`unexpected InvalidInput: ${r.failure.message}`)
  return r.success
}

/** The InvalidInput of a kernel reader that must fail. */
export const err = <A>(r: Result.Result<A, InvalidInput>): InvalidInput => {
  if (Result.isSuccess(r)) throw new Error("expected an InvalidInput")
  return r.failure
}

export const DAY_MS = 86_400_000
const BASE_DAY = Date.UTC(2024, 0, 1)
/** The date `day` days after 2024-01-01 (tests may use Date; the kernel does not). */
export const dateAt = (day: number): string => new Date(BASE_DAY + day * DAY_MS).toISOString().slice(0, 10)

/** Runs the kernel and insists on a plan; a failure is reported with its message. */
export const run = (input: RebalanceInput): Rebalance => {
  const r = rebalance(input)
  if (Result.isFailure(r)) throw new Error(`unexpected InvalidInput: ${r.failure.message}`)
  return r.success
}

/** Runs the kernel and insists on an InvalidInput. */
export const failure = (input: RebalanceInput): InvalidInput => {
  const r = rebalance(input)
  if (Result.isSuccess(r)) throw new Error("expected an InvalidInput, got a plan")
  return r.failure
}

export const sum = (xs: ReadonlyArray<Decimal>): Decimal => xs.reduce((s, x) => s.plus(x), D0)

/** Signed order quantity per symbol (buys positive). */
export const signedOrders = (r: Rebalance): Map<string, Decimal> => {
  const out = new Map<string, Decimal>()
  for (const o of r.orders.orders) out.set(o.symbol, o.side === "buy" ? o.quantity : o.quantity.neg())
  return out
}

/** A canonical, exact rendering of everything a caller can observe (decimals via `format`). */
export const render = (r: Rebalance): string =>
  JSON.stringify({
    plan: [format(r.plan.equity), format(r.plan.cash), format(r.plan.reserve), format(r.plan.cashTarget)],
    lines: r.lines.map((l) => [
      l.line.symbol,
      format(l.line.quantity),
      l.line.value === undefined ? null : format(l.line.value),
      format(l.line.targetWeight),
      format(l.line.targetValue),
      l.line.targeted,
      l.line.action,
      l.line.reason,
      l.action,
      l.reason,
      format(l.finalQuantity),
      format(l.targetQuantity)
    ]),
    deltas: r.deltas.map((d) => [d.line.symbol, d.side, format(d.increment), format(d.targetQuantity), d.steps]),
    orders: r.orders.orders.map((
      o
    ) => [o.symbol, o.side, o.phase, format(o.quantity), format(o.price), format(o.value)]),
    skipped: [...r.orders.skipped],
    cash: [format(r.orders.cash.before), format(r.orders.cash.after), format(r.orders.cash.reserve)],
    warnings: r.warnings.map((w) => [w.code, w.symbol ?? null, w.message])
  })

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

/** Case-sensitive pool; `a` and `A` are different symbols. */
export const POOL = ["A", "AA", "AB", "B", "BA", "C", "D", "E", "F", "G", "H", "a", "b", "c", "d"] as const

/** Which quote fields a symbol has. "bidask" is the common case. */
export type QuoteKind = "bidask" | "bid" | "ask" | "last" | "close" | "lastask" | "bidclose" | "none"

export interface SymbolSpec {
  readonly symbol: string
  /** Price in units of 10^-4 (so 0.01 = 100). */
  readonly priceUnits: number
  /** Ask − bid, in units of 10^-4. */
  readonly spreadUnits: number
  readonly quote: QuoteKind
  /** Held quantity, or undefined when not held. */
  readonly held: string | undefined
  /** Relative weight when targeted (weights are normalised to `weightMicros`). */
  readonly targetRaw: number | undefined
  readonly lot: number | undefined
  /** Only honoured for untargeted symbols (a target on an excluded symbol is invalid). */
  readonly excluded: boolean
}

export interface PolicyInputs {
  shares?: ShareMode
  quantityDecimals?: number
  cashReserve?: string
  minCash?: string
  driftBand?: string
  relativeDriftBand?: string
  minOrderValue?: string
  mode?: TradeMode
  liquidateUntargeted?: boolean
  buyPriceBuffer?: string
}

export interface Scenario {
  readonly cash: string
  readonly specs: ReadonlyArray<SymbolSpec>
  /** Σ weights in millionths (exactly what the targets sum to). */
  readonly weightMicros: number
  readonly policy: PolicyInputs
  readonly useLots: boolean
}

export interface ScenarioOptions {
  readonly maxSymbols?: number
  /** Only these quote kinds (default: all). */
  readonly quotes?: ReadonlyArray<QuoteKind>
  /** bid = ask (one price per symbol). */
  readonly oneprice?: boolean
  /** Σ weights = 1 exactly. */
  readonly fullyInvested?: boolean
  readonly lots?: boolean
  readonly exclude?: boolean
  /** Fractional holdings allowed in whole mode too (default true). */
  readonly fractionalHoldings?: boolean
  /** Fixed policy fields (replace the random ones). */
  readonly policy?: PolicyInputs
}

const quoteKinds: ReadonlyArray<QuoteKind> = ["bidask", "bid", "ask", "last", "close", "lastask", "bidclose", "none"]

const quantityArb = (fractional: boolean): fc.Arbitrary<string> =>
  fractional
    ? fc.oneof(
      fc.integer({ min: 1, max: 3000 }).map(String),
      fc.integer({ min: 1, max: 4 }).chain((p) => fc.integer({ min: 1, max: 3000 * 10 ** p }).map((u) => scaled(u, p)))
    )
    : fc.integer({ min: 1, max: 3000 }).map(String)

const specArb = (symbol: string, o: ScenarioOptions): fc.Arbitrary<SymbolSpec> => {
  const kinds = o.quotes ?? quoteKinds
  return fc.record({
    symbol: fc.constant(symbol),
    // 0.01 .. 2,000 with up to four decimals; most prices are whole cents.
    priceUnits: fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 200_000 }).map((c) => c * 100) },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000_000 }) }
    ),
    spreadUnits: o.oneprice === true ? fc.constant(0) : fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5_000 })),
    quote: fc.oneof({ weight: 6, arbitrary: fc.constant<QuoteKind>(kinds[0]!) }, {
      weight: 2,
      arbitrary: fc.constantFrom(...kinds)
    }),
    held: fc.option(quantityArb(o.fractionalHoldings !== false), { freq: 3 }),
    targetRaw: fc.option(fc.integer({ min: 0, max: 1000 }), { freq: 4 }),
    lot: o.lots === false
      ? fc.constant(undefined)
      : fc.option(fc.constantFrom(1, 2, 5, 10, 100), { freq: 1 }).map((x) => x ?? undefined),
    excluded: o.exclude === false ? fc.constant(false) : fc.boolean()
  }).map((s) => ({ ...s, held: s.held ?? undefined, targetRaw: s.targetRaw ?? undefined }))
}

const fractionText = (maxUnits: number, places: number): fc.Arbitrary<string> =>
  fc.oneof(fc.constant("0"), fc.integer({ min: 0, max: maxUnits }).map((u) => scaled(u, places)))

export const policyArb: fc.Arbitrary<PolicyInputs> = fc.record(
  {
    shares: fc.constantFrom("whole", "fractional"),
    quantityDecimals: fc.integer({ min: 0, max: 6 }),
    cashReserve: fractionText(2000, 4), // up to 0.2
    minCash: fc.integer({ min: 0, max: 1_000_000 }).map((c) => scaled(c, 2)),
    driftBand: fractionText(500, 4), // up to 0.05
    relativeDriftBand: fractionText(500, 3), // up to 0.5
    minOrderValue: fc.integer({ min: 0, max: 50_000 }).map((c) => scaled(c, 2)),
    mode: fc.constantFrom("full", "buy-only", "sell-only"),
    liquidateUntargeted: fc.boolean(),
    buyPriceBuffer: fractionText(100, 4) // up to 0.01
  },
  { requiredKeys: [] }
)

export const scenarioArb = (o: ScenarioOptions = {}): fc.Arbitrary<Scenario> =>
  fc
    .uniqueArray(fc.constantFrom(...POOL), { minLength: 1, maxLength: o.maxSymbols ?? 10 })
    .chain((symbols) =>
      fc.record({
        cash: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20_000_000 })).map((c) => scaled(c, 2)),
        specs: fc.tuple(...symbols.map((s) => specArb(s, o))),
        weightMicros: o.fullyInvested === true
          ? fc.constant(1_000_000)
          : fc.oneof(fc.constant(1_000_000), fc.integer({ min: 0, max: 1_000_000 })),
        policy: policyArb,
        useLots: o.lots === false ? fc.constant(false) : fc.boolean()
      })
    )
    .map((s) => ({ ...s, policy: { ...s.policy, ...o.policy } }))

/**
 * Calm markets: one price per symbol, no buffer, no reserve, full mode, nothing excluded or
 * kept. Buys are then rarely cut for cash, so rounding properties see many uncut buys.
 */
export const calmOptions = (o: ScenarioOptions = {}): ScenarioOptions => ({
  ...o,
  oneprice: true,
  exclude: false,
  quotes: ["bidask", "last", "close", "lastask"],
  policy: { buyPriceBuffer: "0", mode: "full", liquidateUntargeted: true, cashReserve: "0", minCash: "0", ...o.policy }
})

/** Half general scenarios, half calm ones. */
export const mixedArb = (o: ScenarioOptions = {}): fc.Arbitrary<Scenario> =>
  fc.oneof(scenarioArb(o), scenarioArb(calmOptions(o)))

/**
 * Weights in millionths for the targeted symbols, summing to exactly `weightMicros` (or 0 when all
 * raw weights are 0); all cash, said as the kernel wants it said, when no symbol is targeted.
 */
export const weightsOf = (s: Scenario): Array<{ symbol: string; weight: string }> => {
  const targeted = s.specs.filter((x) => x.targetRaw !== undefined)
  const raw = targeted.map((x) => x.targetRaw!)
  const total = raw.reduce((a, b) => a + b, 0)
  if (targeted.length === 0) return [{ symbol: CASH, weight: "1" }]
  const micros = raw.map((r) => (total === 0 ? 0 : Math.floor((r * s.weightMicros) / total)))
  if (total > 0) micros[0] = micros[0]! + s.weightMicros - micros.reduce((a, b) => a + b, 0)
  return targeted.map((x, i) => ({ symbol: x.symbol, weight: scaled(micros[i]!, 6) }))
}

export const quoteOf = (
  x: SymbolSpec
): { symbol: string; bid?: string; ask?: string; last?: string; close?: string } => {
  const bid = scaled(x.priceUnits, 4)
  const ask = scaled(x.priceUnits + x.spreadUnits, 4)
  switch (x.quote) {
    case "bidask":
      return { symbol: x.symbol, bid, ask }
    case "bid":
      return { symbol: x.symbol, bid }
    case "ask":
      return { symbol: x.symbol, ask }
    case "last":
      return { symbol: x.symbol, last: bid }
    case "close":
      return { symbol: x.symbol, close: bid }
    case "lastask":
      return { symbol: x.symbol, last: bid, ask }
    case "bidclose":
      return { symbol: x.symbol, bid, close: ask }
    case "none":
      return { symbol: x.symbol }
  }
}

/** The kernel input of a scenario, in list form, in symbol-spec order. */
export const build = (s: Scenario): RebalanceInput => {
  const targets = weightsOf(s)
  const targeted = new Set(targets.map((t) => t.symbol))
  const lots = Object.fromEntries(
    s.specs.filter((x) => s.useLots && x.lot !== undefined).map((x) => [x.symbol, String(x.lot)])
  )
  const exclude = s.specs.filter((x) => x.excluded && !targeted.has(x.symbol)).map((x) => x.symbol)
  const policy: Record<string, unknown> = { ...s.policy }
  if (Object.keys(lots).length > 0) policy["lotSizes"] = lots
  if (exclude.length > 0) policy["exclude"] = exclude
  return {
    snapshot: {
      cash: s.cash,
      positions: s.specs.filter((x) => x.held !== undefined).map((x) => ({ symbol: x.symbol, quantity: x.held! })),
      quotes: s.specs.map(quoteOf)
    },
    targets,
    policy
  }
}

// ---------------------------------------------------------------------------------------
// An independent oracle for steps and prices, read from the raw input
// ---------------------------------------------------------------------------------------

export interface RawPolicy {
  readonly shares?: unknown
  readonly quantityDecimals?: unknown
  readonly lotSizes?: unknown
  readonly buyPriceBuffer?: unknown
  readonly exclude?: unknown
}

/** The quantity step of a symbol: its lot, else 1 (whole) or 10^-quantityDecimals (fractional; default 6). */
export const stepOf = (policy: RawPolicy | undefined, symbol: string): Decimal => {
  const lots = (policy?.lotSizes ?? {}) as Record<string, string | number>
  const lot = Object.hasOwn(lots, symbol) ? lots[symbol] : undefined
  if (lot !== undefined) return dec(String(lot))
  if (policy?.shares !== "fractional") return D1
  const places = typeof policy.quantityDecimals === "number" ? policy.quantityDecimals : 6
  return dec(`1e-${places}`)
}

export const isMultiple = (quantity: Decimal, step: Decimal): boolean => quantity.mod(step).eq(D0)

/** |a − b| ≤ bound */
export const within = (a: Decimal, b: Decimal, bound: Decimal): boolean => a.minus(b).abs().lte(bound)

export interface RawQuote {
  readonly bid?: string
  readonly ask?: string
  readonly last?: string
  readonly close?: string
}

const positive = (text: string | undefined): Decimal | undefined => {
  if (text === undefined) return undefined
  const d = dec(text)
  return d.gt(D0) ? d : undefined
}

/** Valuation: mid (or the one price when bid = ask), else last, else close, else the one side quoted. */
export const valuationOf = (q: RawQuote): Decimal | undefined => {
  const bid = positive(q.bid)
  const ask = positive(q.ask)
  if (bid !== undefined && ask !== undefined) return bid.plus(ask).times(dec("0.5"))
  return positive(q.last) ?? positive(q.close) ?? bid ?? ask
}

/** Buy: ask × (1 + buffer), else last/close × (1 + buffer). */
export const buyPriceOf = (q: RawQuote, buffer: string = "0"): Decimal | undefined => {
  const base = positive(q.ask) ?? positive(q.last) ?? positive(q.close)
  return base?.times(D1.plus(dec(buffer)))
}

/** Sell: bid, else last, else close. */
export const sellPriceOf = (q: RawQuote): Decimal | undefined =>
  positive(q.bid) ?? positive(q.last) ?? positive(q.close)

/** Throws a readable message (fast-check adds the seed and counterexample). */
export const check = (condition: boolean, what: () => string): void => {
  if (!condition) throw new Error(what())
}

/**
 * Tolerance for a quantity the kernel chose from a double-precision estimate: the estimate
 * only picks the step, so near an exact tie it may pick the neighbour (a few ulps of the ideal).
 */
export const estimateSlack = (ideal: Decimal): Decimal => ideal.abs().times(dec("1e-15")).plus(dec("1e-12"))

// ---------------------------------------------------------------------------------------
// Example helpers
// ---------------------------------------------------------------------------------------

/** Orders as [side, symbol, quantity, price, value] text. */
export const orderRows = (r: Rebalance): Array<[string, string, string, string, string]> =>
  r.orders.orders.map((o) => [o.side, o.symbol, format(o.quantity), format(o.price), format(o.value)])

/** The output line of a symbol. */
export const lineOf = (r: Rebalance, symbol: string): Rebalance["lines"][number] => {
  const l = r.lines.find((x) => x.line.symbol === symbol)
  if (l === undefined) throw new Error(`no line for ${symbol}`)
  return l
}

/** [action, reason, finalQuantity] of a symbol's line. */
export const outcome = (r: Rebalance, symbol: string): [string, string, string] => {
  const l = lineOf(r, symbol)
  return [l.action, l.reason, format(l.finalQuantity)]
}

/** Warnings as [code, symbol] pairs (symbol "" for account-wide ones). */
export const warningRows = (r: Rebalance): Array<[string, string]> => r.warnings.map((w) => [w.code, w.symbol ?? ""])

/** One price per symbol: bid = ask. */
export const flat = (prices: Record<string, string>): Record<string, { bid: string; ask: string }> =>
  Object.fromEntries(Object.entries(prices).map(([s, p]) => [s, { bid: p, ask: p }]))
