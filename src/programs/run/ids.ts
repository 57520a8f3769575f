/**
 * Run ids and client order ids. A client order id is deterministic (run id + phase + side
 * + symbol) so an intent can be stored before it is sent and found again after a lost
 * answer; brokers refuse a reused id forever, and Alpaca allows 128 characters, so ids
 * stay at or under 48.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import type { Side } from "../../kernel/rebalance/deltas.ts"
import type { Phase } from "../../kernel/rebalance/orders.ts"

export const CLIENT_ORDER_ID_LENGTH = 48

/** e.g. `20261122T034512-k3f9`: sortable by time, unique across runs started in the same second. */
export const makeRunId: Effect.Effect<string> = Effect.gen(function*() {
  const now = new Date(yield* Clock.currentTimeMillis)
  const stamp = now.toISOString().replace(/[-:]/g, "").slice(0, 15)
  const suffix = (yield* Random.nextIntBetween(0, 36 ** 4)).toString(36).padStart(4, "0")
  return `${stamp}-${suffix}`
})

/** A short, stable digest of a long symbol, so the id stays within the limit. */
const digest = (text: string): string => {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return (h >>> 0).toString(36)
}

export const clientOrderId = (runId: string, phase: Phase, side: Side, symbol: string): string => {
  const head = `${runId}-${phase[0]}${side[0]}-`
  const room = CLIENT_ORDER_ID_LENGTH - head.length
  const safe = symbol.replace(/[^A-Za-z0-9._/-]/g, "_")
  // A symbol that had to be changed, or shortened, carries a digest of the original, so
  // "BRK B" and "BRK_B" never share an id.
  if (safe === symbol && safe.length <= room) return head + safe
  return `${head}${safe.slice(0, Math.min(safe.length, room - 8))}~${digest(symbol).padStart(7, "0").slice(0, 7)}`
}

/** The UTC calendar day of a run, for the artifacts folder. */
export const day = (millis: number): string => new Date(millis).toISOString().slice(0, 10)
