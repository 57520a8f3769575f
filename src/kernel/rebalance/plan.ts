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
import { type Decimal, format, isZero, max, ONE, ZERO } from "../decimal.ts"
import type { Policy } from "./policy.ts"
import { NO_PRICES, type PriceBook, type Prices } from "./prices.ts"
import type { Account } from "./snapshot.ts"
import type { Attribution, Targets } from "./targets.ts"
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

export type Reason =
  | "below-target"
  | "above-target"
  | "at-target"
  | "within-band"
  | "untargeted"
  | "untargeted-kept"
  | "excluded"
  | "no-price"
  | "buy-only"
  | "sell-only"
  | "rounds-to-current"
  | "below-min-order-value"
  | "no-cash"
  | "quantity-out-of-range"
  | "reserve-leaves-no-room"

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

export interface PlanLineFields {
  readonly symbol: string
  /** Held quantity. */
  readonly quantity: Decimal
  readonly prices: Prices
  /** quantity × valuation price; undefined when the holding has no price. */
  readonly value: Decimal | undefined
  readonly equity: Decimal
  readonly targetWeight: Decimal
  readonly targetValue: Decimal
  readonly targeted: boolean
  readonly action: Action
  readonly reason: Reason
  readonly attribution: Attribution
}

export class PlanLine implements PlanLineFields {
  readonly symbol: string
  readonly quantity: Decimal
  readonly prices: Prices
  readonly value: Decimal | undefined
  readonly equity: Decimal
  readonly targetWeight: Decimal
  readonly targetValue: Decimal
  readonly targeted: boolean
  readonly action: Action
  readonly reason: Reason
  readonly attribution: Attribution
  #weight: Decimal | undefined | null = null

  constructor(fields: PlanLineFields) {
    this.symbol = fields.symbol
    this.quantity = fields.quantity
    this.prices = fields.prices
    this.value = fields.value
    this.equity = fields.equity
    this.targetWeight = fields.targetWeight
    this.targetValue = fields.targetValue
    this.targeted = fields.targeted
    this.action = fields.action
    this.reason = fields.reason
    this.attribution = fields.attribution
  }

  /** Valuation price, if any. */
  get price(): Decimal | undefined {
    return this.prices.valuation?.price
  }

  /** value ÷ equity, derived on first read (one division). */
  get weight(): Decimal | undefined {
    if (this.#weight === null) {
      this.#weight = this.value === undefined ? undefined : isZero(this.equity) ? ZERO : this.value.div(this.equity)
    }
    return this.#weight
  }

  /** weight − target weight. */
  get drift(): Decimal | undefined {
    return this.weight?.minus(this.targetWeight)
  }
}

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

interface Row {
  readonly symbol: string
  readonly quantity: Decimal
  readonly prices: Prices
  readonly value: Decimal | undefined
  readonly targetIndex: number
}

/** Held and targeted symbols, merged in symbol order, each with its value. */
const rows = (account: Account, model: Model): { rows: Array<Row>; equity: Decimal; warnings: Array<Warning> } => {
  const targets = model.targets.weights
  const positions = account.positions
  const out: Array<Row> = []
  const warnings: Array<Warning> = []
  let equity = account.cash
  let t = 0
  let p = 0
  while (t < targets.length || p < positions.length) {
    const target = targets[t]
    const position = positions[p]
    const symbol = target === undefined
      ? position!.symbol
      : position === undefined || target.symbol < position.symbol
      ? target.symbol
      : position.symbol
    const targetIndex = target?.symbol === symbol ? t++ : -1
    const quantity = position?.symbol === symbol ? (p++, position.quantity) : ZERO
    if (targetIndex < 0 && isZero(quantity)) continue
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
        value = quantity.times(valuation.price)
        equity = equity.plus(value)
      }
    }
    out.push({ symbol, quantity, prices, value, targetIndex })
  }
  return { rows: out, equity, warnings }
}

/** Plans one account against a model. Total: validated inputs always give a plan. */
export const plan = (account: Account, model: Model): Plan => {
  const { policy, targets } = model
  const { rows: all, equity, warnings } = rows(account, model)
  const reserve = max(policy.cashReserve.times(equity), policy.minCash)
  const cashByWeight = targets.cash.times(equity)
  // Target value per unit of weight: equity, or what is left after the reserve when that is larger.
  let perWeight = equity
  const cashTarget = max(reserve, cashByWeight)
  if (reserve.gt(cashByWeight) && !isZero(targets.total)) {
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
  const absBand = isZero(policy.driftBand) ? undefined : policy.driftBand.times(equity)
  const relBand = isZero(policy.relativeDriftBand) ? undefined : policy.relativeDriftBand
  const lines: Array<PlanLine> = []
  for (const row of all) {
    const target = targets.weights[row.targetIndex]
    const targetWeight = target?.weight ?? ZERO
    const targetValue = targetWeight.times(perWeight)
    const [action, reason] = decide(
      row,
      target !== undefined,
      targetWeight,
      targetValue,
      model,
      absBand,
      relBand,
      warnings
    )
    lines.push(
      new PlanLine({
        symbol: row.symbol,
        quantity: row.quantity,
        prices: row.prices,
        value: row.value,
        equity,
        targetWeight,
        targetValue,
        targeted: target !== undefined,
        action,
        reason,
        attribution: target?.attribution ?? []
      })
    )
  }
  return { model, equity, cash: account.cash, reserve, cashTarget, lines, warnings }
}

const decide = (
  row: Row,
  targeted: boolean,
  targetWeight: Decimal,
  targetValue: Decimal,
  model: Model,
  absBand: Decimal | undefined,
  relBand: Decimal | undefined,
  warnings: Array<Warning>
): readonly [Action, Reason] => {
  const { symbol, prices, value } = row
  const policy = model.policy
  if (policy.exclude.has(symbol)) return ["hold", "excluded"]
  if (value === undefined || prices.valuation === undefined) {
    if (targeted && value !== undefined) {
      warnings.push(warning("NO_PRICE", `${symbol}: no bid, ask, last or close; not traded`, symbol))
    }
    return ["hold", "no-price"]
  }
  const held = !isZero(row.quantity)
  if (!targeted) {
    if (!policy.liquidateUntargeted) return ["hold", "untargeted-kept"]
    return sell(symbol, prices, model, "untargeted", warnings)
  }
  const gap = value.minus(targetValue)
  if (isZero(gap)) {
    return ["hold", isZero(targetValue) && !isZero(targetWeight) ? "reserve-leaves-no-room" : "at-target"]
  }
  if (held && (absBand !== undefined || relBand !== undefined)) {
    const deviation = gap.abs()
    const outside = (absBand !== undefined && deviation.gt(absBand)) ||
      (relBand !== undefined && deviation.gt(relBand.times(targetValue)))
    if (!outside) return ["hold", "within-band"]
  }
  return gap.s < 0 ? buy(symbol, prices, policy, warnings) : sell(symbol, prices, model, "above-target", warnings)
}

const sell = (
  symbol: string,
  prices: Prices,
  model: Model,
  reason: Reason,
  warnings: Array<Warning>
): readonly [Action, Reason] => {
  if (model.policy.mode === "buy-only" || model.buyPhase === true) return ["hold", "buy-only"]
  if (prices.sell === undefined) {
    warnings.push(warning("NO_SELL_PRICE", `${symbol}: a sell is wanted but there is no bid, last or close`, symbol))
    return ["hold", "no-price"]
  }
  if (prices.sell.source !== "bid") {
    warnings.push(warning("SELL_PRICE_FALLBACK", `${symbol}: no bid; sell valued at ${prices.sell.source}`, symbol))
  }
  return ["sell", reason]
}

const buy = (symbol: string, prices: Prices, policy: Policy, warnings: Array<Warning>): readonly [Action, Reason] => {
  if (policy.mode === "sell-only") return ["hold", "sell-only"]
  if (prices.buy === undefined) {
    warnings.push(warning("NO_BUY_PRICE", `${symbol}: a buy is wanted but there is no ask, last or close`, symbol))
    return ["hold", "no-price"]
  }
  if (prices.buy.source !== "ask") {
    warnings.push(warning("BUY_PRICE_FALLBACK", `${symbol}: no ask; buy sized at ${prices.buy.source}`, symbol))
  }
  return ["buy", "below-target"]
}
