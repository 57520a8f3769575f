/**
 * Warnings: things the user must know about a plan that still went ahead.
 * A plan with warnings is a plan; invalid input is an InvalidInput instead.
 */
import * as Schema from "effect/Schema"

/** What a warning is about; each code has one meaning, whatever the symbol. */
export const WarningCode = Schema.Literals([
  /** A held symbol has no price: its value is unknown and left out of equity. */
  "UNPRICED_HOLDING",
  /** A targeted symbol has no price at all, so it is not traded. */
  "NO_PRICE",
  /** A buy is wanted but there is no ask, last or close. */
  "NO_BUY_PRICE",
  /** A sell is wanted but there is no bid, last or close. */
  "NO_SELL_PRICE",
  /** A buy was sized at last/close because there was no ask. */
  "BUY_PRICE_FALLBACK",
  /** A sell was valued at last/close because there was no bid. */
  "SELL_PRICE_FALLBACK",
  /** The reserve is larger than the cash target, so every target was scaled down to make room for it. */
  "TARGETS_SCALED_FOR_RESERVE",
  /** An order worth less than minOrderValue was dropped. */
  "BELOW_MIN_ORDER_VALUE",
  /** Cash (after sells, less the reserve) cannot pay for every buy: buys were trimmed. */
  "BUYS_TRIMMED",
  /** Cash is already at or below the reserve: no buys at all. */
  "NO_CASH_FOR_BUYS",
  /** An order would be more than 2^52 steps (e.g. a dust price against a large account): not traded. */
  "QUANTITY_OUT_OF_RANGE"
])
export type WarningCode = typeof WarningCode.Type

export interface Warning {
  readonly code: WarningCode
  readonly symbol?: string
  readonly message: string
}

export const warning = (code: WarningCode, message: string, symbol?: string): Warning =>
  symbol === undefined ? { code, message } : { code, symbol, message }
