/**
 * Policy: every threshold the kernel applies. Nothing is hard-coded elsewhere;
 * each default below is documented in the README and chosen so that an empty
 * policy plans the exact, unbuffered rebalance.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { compare, Decimal, decimalPlaces, isPositive, max, ONE, parseDecimal, ZERO } from "../decimal.ts"
import {
  type DecimalRule,
  entries,
  field,
  fraction,
  invalid,
  isRecord,
  join,
  nonNegative,
  passOn,
  type Read,
  readDecimal,
  readLiteral,
  readSymbol
} from "../input.ts"

/** Whole shares, or fractions of a share down to the policy's quantity decimals. */
export const ShareMode = Schema.Literals(["whole", "fractional"])
export type ShareMode = typeof ShareMode.Type

/** Which sides may trade: both, or only buys, or only sells. */
export const TradeMode = Schema.Literals(["full", "buy-only", "sell-only"])
export type TradeMode = typeof TradeMode.Type

export interface Policy {
  /** Whole shares, or fractions down to `quantityDecimals`. */
  readonly shares: ShareMode
  /** Decimal places of a fractional quantity (0 to 9). */
  readonly quantityDecimals: number
  /** Symbols that trade in lots: every order quantity is a multiple of the lot. */
  readonly lotSizes: ReadonlyMap<string, Decimal>
  /** Cash kept after the trades, as a fraction of equity. */
  readonly cashReserve: Decimal
  /** Cash kept after the trades, as an amount. The larger of the two applies. */
  readonly minCash: Decimal
  /** Absolute drift band (weight); 0 means no absolute band. */
  readonly driftBand: Decimal
  /** Relative drift band (fraction of the target weight); 0 means no relative band. */
  readonly relativeDriftBand: Decimal
  /** Orders worth less are dropped with a warning. */
  readonly minOrderValue: Decimal
  readonly mode: TradeMode
  /** Sell held symbols that are absent from the targets. */
  readonly liquidateUntargeted: boolean
  /** Never traded; still counted in equity. */
  readonly exclude: ReadonlySet<string>
  /** Fraction added to the buy price when sizing buys. */
  readonly buyPriceBuffer: Decimal
  /** How far above 1 the target weights may sum (rounding in exported weights). */
  readonly weightTolerance: Decimal
}

/**
 * The default tolerance on a sum that should be 1 (target weights, a blend's shares): tight
 * enough that only rounding in written numbers passes.
 */
export const ROUNDING_TOLERANCE: Decimal = new Decimal("0.000000001")

export const defaultPolicy: Policy = {
  shares: "whole",
  quantityDecimals: 6,
  lotSizes: new Map(),
  cashReserve: ZERO,
  minCash: ZERO,
  driftBand: ZERO,
  relativeDriftBand: ZERO,
  minOrderValue: ZERO,
  mode: "full",
  liquidateUntargeted: true,
  exclude: new Set(),
  buyPriceBuffer: ZERO,
  weightTolerance: ROUNDING_TOLERANCE
}

const below1: DecimalRule = {
  expected: "a fraction from 0 up to (not including) 1",
  accepts: (d) => fraction.accepts(d) && d.lt(ONE)
}
const tolerance: DecimalRule = {
  expected: "a tolerance from 0 to 0.001",
  accepts: (d) => nonNegative.accepts(d) && d.lte("0.001")
}
const MAX_QUANTITY_DECIMALS = 9

type Reader = (value: unknown, path: string) => Read<unknown>

const decimal = (rule: DecimalRule): Reader => (value, path) => readDecimal("policy", path, value, rule)

const readers: Readonly<Record<keyof Policy, Reader>> = {
  shares: (value, path) => readLiteral("policy", path, value, ShareMode),
  quantityDecimals: (value, path) =>
    Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_QUANTITY_DECIMALS
      ? Result.succeed(value)
      : invalid("policy", path, value, `a whole number from 0 to ${MAX_QUANTITY_DECIMALS}`),
  lotSizes: (value, path) =>
    Result.gen(function*() {
      const lots = new Map<string, Decimal>()
      for (const item of yield* entries("policy", path, value, "symbol", "lotSize")) {
        const symbol = yield* readSymbol("policy", item.keyPath, item.key)
        const lot = parseDecimal(item.value)
        if (typeof lot === "string" || !isPositive(lot) || decimalPlaces(lot) > 0) {
          return yield* invalid("policy", item.path, item.value, "a whole lot size of at least 1")
        }
        lots.set(symbol, lot)
      }
      return lots
    }),
  cashReserve: decimal(below1),
  minCash: decimal(nonNegative),
  driftBand: decimal(fraction),
  relativeDriftBand: decimal(nonNegative),
  minOrderValue: decimal(nonNegative),
  mode: (value, path) => readLiteral("policy", path, value, TradeMode),
  liquidateUntargeted: (value, path) =>
    typeof value === "boolean" ? Result.succeed(value) : invalid("policy", path, value, "true or false"),
  exclude: (value, path) =>
    Result.gen(function*() {
      if (!Array.isArray(value)) return yield* invalid("policy", path, value, "a list of symbols")
      const symbols = new Set<string>()
      for (let i = 0; i < value.length; i++) symbols.add(yield* readSymbol("policy", join(path, i), value[i]))
      return symbols
    }),
  buyPriceBuffer: decimal(below1),
  weightTolerance: decimal(tolerance)
}

/** Validates a policy; missing fields take their defaults, unknown fields are an error (a typo must not pass silently). */
export const validatePolicy = (input: unknown): Read<Policy> => {
  if (input === undefined || input === null) return Result.succeed(defaultPolicy)
  if (!isRecord(input)) return invalid("policy", "", input, "an object of policy fields")
  const policy: Record<string, unknown> = { ...defaultPolicy }
  for (const key of Object.keys(input)) {
    const read = Object.hasOwn(readers, key) ? readers[key as keyof Policy] : undefined
    const path = join("", key)
    if (read === undefined) return invalid("policy", path, key, `a policy field (${Object.keys(readers).join(", ")})`)
    const value = read(field(input, key), path)
    if (Result.isFailure(value)) return passOn(value)
    policy[key] = value.success
  }
  return Result.succeed(policy as unknown as Policy)
}

/** What a venue imposes: read from the broker, never from a policy file. */
export interface VenueRules {
  /** Symbols the venue trades in whole shares only. */
  readonly wholeShares: ReadonlyArray<string>
  /** The smallest order value the venue takes for a fractional order. */
  readonly minOrderValue: Decimal
  /**
   * Cash the venue needs left after the buys, as a fraction of equity (a market-buy collar it
   * checks buying power against): a hard floor, like the policy's own reserve.
   */
  readonly cashReserve?: Decimal | undefined
}

/**
 * The policy under a venue's rules. The reserve is at least the venue's. In fractional mode a
 * whole-share-only symbol trades in lots of one share (a lot the policy sets is whole already
 * and is kept), and no order is worth less than the venue's minimum; a whole-share policy needs
 * neither.
 */
export const withVenueRules = (policy: Policy, rules: VenueRules): Policy => {
  const reserved = rules.cashReserve === undefined || compare(rules.cashReserve, policy.cashReserve) <= 0
    ? policy
    : { ...policy, cashReserve: rules.cashReserve }
  if (policy.shares === "whole") return reserved
  const lotSizes = new Map(policy.lotSizes)
  for (const symbol of rules.wholeShares) if (!lotSizes.has(symbol)) lotSizes.set(symbol, ONE_SHARE)
  return { ...reserved, lotSizes, minOrderValue: max(policy.minOrderValue, rules.minOrderValue) }
}

/** The quantity step of a symbol: its lot, else one share, else 10^-quantityDecimals. */
export const increment = (policy: Policy, symbol: string): Decimal =>
  policy.lotSizes.get(symbol) ?? (policy.shares === "whole" ? ONE_SHARE : fractionalStep(policy.quantityDecimals))

const ONE_SHARE = ONE
const steps: ReadonlyArray<Decimal> = Array.from(
  { length: MAX_QUANTITY_DECIMALS + 1 },
  (_, d) => new Decimal(`1e-${d}`)
)
const fractionalStep = (decimals: number): Decimal => steps[decimals] ?? ONE_SHARE
