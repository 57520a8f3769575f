/**
 * Plan: where each symbol stands against its target, and what should happen to it.
 *
 * Equity = cash + every priced holding at its valuation price (excluded symbols count;
 * an unpriced holding cannot, and a warning says so). Target value = weight × equity,
 * unless the cash reserve is larger than the cash target: then every target is scaled
 * down by the same factor so that the reserve fits. No division happens per symbol:
 * bands are compared as values, and weights are derived only when read.
 */
import * as Schema from "effect/Schema"
import { compare, type Decimal, differsByMore, format, isZero, max, multiply, ONE, sumOf, ZERO } from "../decimal.ts"
import type { Policy } from "./policy.ts"
import { type BuyPrices, canBuy, canSell, NO_PRICES, type PriceBook, type Prices, type SellPrices } from "./prices.ts"
import type { Account } from "./snapshot.ts"
import type { Attribution, Target, Targets } from "./targets.ts"
import { type Warning, warning } from "./warnings.ts"

/** Everything shared by the accounts that follow one model portfolio. */
export interface Model {
  readonly targets: Targets
  readonly prices: PriceBook
  readonly policy: Policy
  /** The buy phase re-planned after the sells settled: nothing is sold, whatever the mode. */
  readonly buyPhase?: boolean
}

/** What the plan does with a symbol. */
export const Action = Schema.Literals(["buy", "sell", "hold"])
export type Action = typeof Action.Type

/** Why a line's action is what it is: the plan's decision, or what became of a wanted trade. */
export const Reason = Schema.Literals([
  "below-target",
  "above-target",
  "at-target",
  "within-band",
  "untargeted",
  "untargeted-kept",
  "excluded",
  "no-price",
  "buy-only",
  "sell-only",
  "rounds-to-current",
  "below-min-order-value",
  "no-cash",
  "quantity-out-of-range",
  "reserve-leaves-no-room"
])
export type Reason = typeof Reason.Type

export const describeReason: Readonly<Record<Reason, string>> = {
  "below-target": "below target",
  "above-target": "above target",
  "at-target": "at target",
  "within-band": "within drift band",
  untargeted: "not in targets: liquidate",
  "untargeted-kept": "not in targets, liquidateUntargeted is off",
  excluded: "excluded by policy",
  "no-price": "no usable price",
  "buy-only": "buy-only mode: no sells",
  "sell-only": "sell-only mode: no buys",
  "rounds-to-current": "target rounds to the current quantity",
  "below-min-order-value": "order below minOrderValue",
  "no-cash": "no cash left for this buy",
  "quantity-out-of-range": "order quantity out of range",
  "reserve-leaves-no-room": "the cash reserve leaves no room for this target"
}

/** What every plan line says about its symbol, whatever the action. */
export interface LineBasis {
  readonly symbol: string
  /** Held quantity. */
  readonly quantity: Decimal
  readonly equity: Decimal
  readonly targetWeight: Decimal
  readonly targetValue: Decimal
  readonly targeted: boolean
  readonly attribution: Attribution
}

/** A symbol below its target that can be bought. */
export interface BuyLine extends LineBasis {
  readonly action: "buy"
  readonly reason: "below-target"
  readonly prices: BuyPrices
  /** quantity × valuation price. */
  readonly value: Decimal
}

/** A symbol above its target (or untargeted) that can be sold. */
export interface SellLine extends LineBasis {
  readonly action: "sell"
  readonly reason: "above-target" | "untargeted"
  readonly prices: SellPrices
  /** quantity × valuation price. */
  readonly value: Decimal
}

/** A symbol left as it is, and why. */
export interface HoldLine extends LineBasis {
  readonly action: "hold"
  readonly reason: Reason
  readonly prices: Prices
  /** quantity × valuation price; undefined when the holding has no price. */
  readonly value: Decimal | undefined
}

/** One symbol of a plan: the action carries the prices and value it needs. */
export type PlanLine = BuyLine | SellLine | HoldLine

/** The valuation price of a line's symbol, if it has one. */
export const linePrice = (line: PlanLine): Decimal | undefined => line.prices.valuation?.price

/** value ÷ equity: the symbol's weight now (one division, so only when read). */
export const lineWeight = (line: PlanLine): Decimal | undefined =>
  line.value === undefined ? undefined : isZero(line.equity) ? ZERO : line.value.div(line.equity)

/** The weight now − the target weight. */
export const lineDrift = (line: PlanLine): Decimal | undefined => lineWeight(line)?.minus(line.targetWeight)

export interface Plan {
  readonly model: Model
  /** Cash + priced holdings. */
  readonly equity: Decimal
  readonly cash: Decimal
  /** max(cashReserve × equity, minCash): cash that buys never touch. */
  readonly reserve: Decimal
  /** Cash the targets leave: max(reserve, (1 − Σ weights) × equity). Buys never take cash below it. */
  readonly cashTarget: Decimal
  readonly lines: ReadonlyArray<PlanLine>
  readonly warnings: ReadonlyArray<Warning>
}

/** A held or targeted symbol with its value, before any decision. */
interface Row {
  readonly symbol: string
  readonly quantity: Decimal
  readonly prices: Prices
  readonly value: Decimal | undefined
  readonly target: Target | undefined
}

/** Held and targeted symbols, merged in symbol order, each with its value. */
const rows = (account: Account, model: Model): { rows: Array<Row>; equity: Decimal; warnings: Array<Warning> } => {
  const targets = model.targets.weights
  const positions = account.positions
  const out: Array<Row> = []
  const warnings: Array<Warning> = []
  const priced: Array<Decimal> = [account.cash]
  let t = 0
  let p = 0
  for (;;) {
    const target = targets[t]
    const position = positions[p]
    const symbol = target !== undefined && (position === undefined || target.symbol < position.symbol)
      ? target.symbol
      : position?.symbol
    if (symbol === undefined) break
    const targeted = target?.symbol === symbol ? (t++, target) : undefined
    const quantity = position?.symbol === symbol ? (p++, position.quantity) : ZERO
    if (targeted === undefined && isZero(quantity)) continue
    const prices = model.prices.get(symbol) ?? NO_PRICES
    let value: Decimal | undefined = ZERO
    if (!isZero(quantity)) {
      const valuation = prices.valuation
      if (valuation === undefined) {
        value = undefined
        warnings.push(
          warning(
            "UNPRICED_HOLDING",
            `${symbol}: held but unpriced; its value is unknown and left out of equity`,
            symbol
          )
        )
      } else {
        value = multiply(quantity, valuation.price)
        priced.push(value)
      }
    }
    out.push({ symbol, quantity, prices, value, target: targeted })
  }
  return { rows: out, equity: sumOf(priced), warnings }
}

/** What every decision of one plan shares. */
interface Terms {
  readonly model: Model
  readonly policy: Policy
  readonly equity: Decimal
  /** Target value per unit of weight. */
  readonly perWeight: Decimal
  /** driftBand × equity, when there is an absolute band. */
  readonly absBand: Decimal | undefined
  readonly relBand: Decimal | undefined
  readonly warnings: Array<Warning>
}

/** Plans one account against a model. Total: validated inputs always give a plan. */
export const plan = (account: Account, model: Model): Plan => {
  const { policy, targets } = model
  const { rows: all, equity, warnings } = rows(account, model)
  const reserve = max(multiply(policy.cashReserve, equity), policy.minCash)
  const cashByWeight = multiply(targets.cash, equity)
  // Target value per unit of weight: equity, or what is left after the reserve when that is larger.
  let perWeight = equity
  const cashTarget = max(reserve, cashByWeight)
  if (compare(reserve, cashByWeight) > 0 && !isZero(targets.total)) {
    const investable = equity.gt(reserve) ? equity.minus(reserve) : ZERO
    perWeight = targets.total.eq(ONE) ? investable : investable.div(targets.total)
    warnings.push(
      warning(
        "TARGETS_SCALED_FOR_RESERVE",
        `the cash reserve ${format(reserve)} is more than the cash target ${
          format(cashByWeight)
        }: targets scaled to fit it`
      )
    )
  }
  const terms: Terms = {
    model,
    policy,
    equity,
    perWeight,
    absBand: isZero(policy.driftBand) ? undefined : multiply(policy.driftBand, equity),
    relBand: isZero(policy.relativeDriftBand) ? undefined : policy.relativeDriftBand,
    warnings
  }
  const lines = all.map((row) => decide(row, terms))
  return { model, equity, cash: account.cash, reserve, cashTarget, lines, warnings }
}

/**
 * A row's line: what every line says, then what its action adds, with every field in one order
 * (one object shape for every action, built in one step). Its type is exactly what it was given,
 * so where it is returned TypeScript checks that it is a BuyLine, a SellLine or a HoldLine.
 */
const line = <A extends Action, R extends Reason, P extends Prices, V extends Decimal | undefined>(
  row: Row,
  terms: Terms,
  targetValue: Decimal,
  action: A,
  reason: R,
  prices: P,
  value: V
) => ({
  symbol: row.symbol,
  quantity: row.quantity,
  equity: terms.equity,
  targetWeight: row.target?.weight ?? ZERO,
  targetValue,
  targeted: row.target !== undefined,
  attribution: row.target?.attribution ?? NO_ATTRIBUTION,
  action,
  reason,
  prices,
  value
})

const NO_ATTRIBUTION: Attribution = []

const hold = (row: Row, terms: Terms, targetValue: Decimal, reason: Reason): HoldLine =>
  line(row, terms, targetValue, "hold", reason, row.prices, row.value)

const decide = (row: Row, terms: Terms): PlanLine => {
  const { symbol, prices, value, target } = row
  const { policy, warnings } = terms
  const targetValue = target === undefined ? ZERO : multiply(target.weight, terms.perWeight)
  if (policy.exclude.has(symbol)) return hold(row, terms, targetValue, "excluded")
  if (value === undefined || prices.valuation === undefined) {
    if (target !== undefined && value !== undefined) {
      warnings.push(warning("NO_PRICE", `${symbol}: no bid, ask, last or close; not traded`, symbol))
    }
    return hold(row, terms, targetValue, "no-price")
  }
  if (target === undefined) {
    if (!policy.liquidateUntargeted) return hold(row, terms, targetValue, "untargeted-kept")
    return sell(row, terms, targetValue, value, "untargeted")
  }
  const side = compare(value, targetValue)
  if (side === 0) {
    const noRoom = isZero(targetValue) && !isZero(target.weight)
    return hold(row, terms, targetValue, noRoom ? "reserve-leaves-no-room" : "at-target")
  }
  if (!isZero(row.quantity) && withinBand(value, targetValue, terms)) {
    return hold(row, terms, targetValue, "within-band")
  }
  return side < 0 ? buy(row, terms, targetValue, value) : sell(row, terms, targetValue, value, "above-target")
}

/** A held symbol whose value is off its target by no more than every drift band the policy sets (none: never). */
const withinBand = (value: Decimal, targetValue: Decimal, terms: Terms): boolean => {
  const { absBand, relBand } = terms
  if (absBand === undefined && relBand === undefined) return false
  const outside = (absBand !== undefined && differsByMore(value, targetValue, absBand)) ||
    (relBand !== undefined && differsByMore(value, targetValue, multiply(relBand, targetValue)))
  return !outside
}

const sell = (
  row: Row,
  terms: Terms,
  targetValue: Decimal,
  value: Decimal,
  reason: SellLine["reason"]
): PlanLine => {
  const { symbol, prices } = row
  const { model, warnings } = terms
  if (model.policy.mode === "buy-only" || model.buyPhase === true) return hold(row, terms, targetValue, "buy-only")
  if (!canSell(prices)) {
    warnings.push(warning("NO_SELL_PRICE", `${symbol}: a sell is wanted but there is no bid, last or close`, symbol))
    return hold(row, terms, targetValue, "no-price")
  }
  if (prices.sell.source !== "bid") {
    warnings.push(warning("SELL_PRICE_FALLBACK", `${symbol}: no bid; sell valued at ${prices.sell.source}`, symbol))
  }
  return line(row, terms, targetValue, "sell", reason, prices, value)
}

const buy = (row: Row, terms: Terms, targetValue: Decimal, value: Decimal): PlanLine => {
  const { symbol, prices } = row
  const { policy, warnings } = terms
  if (policy.mode === "sell-only") return hold(row, terms, targetValue, "sell-only")
  if (!canBuy(prices)) {
    warnings.push(warning("NO_BUY_PRICE", `${symbol}: a buy is wanted but there is no ask, last or close`, symbol))
    return hold(row, terms, targetValue, "no-price")
  }
  if (prices.buy.source !== "ask") {
    warnings.push(warning("BUY_PRICE_FALLBACK", `${symbol}: no ask; buy sized at ${prices.buy.source}`, symbol))
  }
  return line(row, terms, targetValue, "buy", "below-target", prices, value)
}
