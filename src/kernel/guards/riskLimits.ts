/**
 * Pre-trade risk limits, per account or group: a plan that trades more of the account than a
 * run should, sends one outsized order, or piles too much into one symbol is refused before
 * anything is sent. A run started with confirmation lets the breaches through and records them;
 * an unattended run never confirms.
 */
import { compare, Decimal, format, isPositive, multiply, sumOf } from "../decimal.ts"
import type { Order } from "../rebalance/orders.ts"
import { note, pass, refuse, type Verdict } from "./verdict.ts"

/** Each limit is off when absent. */
export interface RiskLimits {
  /** The most a run may trade, buys and sells together, as a fraction of equity. */
  readonly maxTurnover?: Decimal | undefined
  /** The largest value of one order. */
  readonly maxOrderValue?: Decimal | undefined
  /** The largest weight a symbol the plan buys may reach after the trades. */
  readonly maxWeight?: Decimal | undefined
}

export interface RiskInput {
  readonly limits: RiskLimits
  readonly orders: ReadonlyArray<Pick<Order, "symbol" | "side" | "quantity" | "value">>
  /** The account's equity before the trades. */
  readonly equity: Decimal
  /** Each symbol's weight after the trades, as the plan expects them. */
  readonly weights: ReadonlyArray<{ readonly symbol: string; readonly weight: Decimal }>
  /** Let breaches through; the verdict reports them as overridden. */
  readonly confirmed: boolean
}

/** The places a ratio is shown with in a message, rounded up so that a breach never looks within its limit. */
const SHOWN_PLACES = 4

const shown = (ratio: Decimal): string => format(ratio.round(SHOWN_PLACES, Decimal.roundUp))

const describe = (order: Pick<Order, "symbol" | "side" | "quantity">): string =>
  `${order.side} ${format(order.quantity)} ${order.symbol}`

const abs = (d: Decimal): Decimal => (d.s < 0 ? d.neg() : d)

const turnoverBreach = (input: RiskInput, max: Decimal): ReadonlyArray<string> => {
  const traded = sumOf(input.orders.map((order) => abs(order.value)))
  if (compare(traded, multiply(max, input.equity)) <= 0) return []
  const share = isPositive(input.equity) ? `${shown(traded.div(input.equity))} of equity` : "with no equity"
  return [`maxTurnover ${format(max)}: the ${input.orders.length} orders trade ${format(traded)} (${share})`]
}

const orderValueBreaches = (input: RiskInput, max: Decimal): ReadonlyArray<string> =>
  input.orders
    .filter((order) => compare(abs(order.value), max) > 0)
    .map((order) => `maxOrderValue ${format(max)}: ${describe(order)} is worth ${format(abs(order.value))}`)

const weightBreaches = (input: RiskInput, max: Decimal): ReadonlyArray<string> => {
  const bought = new Map(input.orders.filter((order) => order.side === "buy").map((order) => [order.symbol, order]))
  return input.weights.flatMap(({ symbol, weight }) => {
    const order = bought.get(symbol)
    return order !== undefined && compare(weight, max) > 0
      ? [`maxWeight ${format(max)}: ${describe(order)} takes ${symbol} to ${shown(weight)}`]
      : []
  })
}

/** Every limit the plan breaks, one line each, naming the limit and the order or symbol. */
export const breaches = (input: RiskInput): ReadonlyArray<string> => {
  const { maxOrderValue, maxTurnover, maxWeight } = input.limits
  return [
    ...(maxTurnover === undefined ? [] : turnoverBreach(input, maxTurnover)),
    ...(maxOrderValue === undefined ? [] : orderValueBreaches(input, maxOrderValue)),
    ...(maxWeight === undefined ? [] : weightBreaches(input, maxWeight))
  ]
}

/** Refuses a plan that breaks any limit, with every breach on the one line, unless confirmed. */
export const riskLimits = (input: RiskInput): Verdict => {
  const found = breaches(input)
  if (found.length === 0) return pass("risk-limits")
  const line = found.join("; ")
  return input.confirmed
    ? note("risk-limits", `risk limits overridden (confirmed): ${line}`, true)
    : refuse("risk-limits", line)
}
