/**
 * Run ids and client order ids. A client order id is deterministic (run id + phase + side
 * + symbol) so an intent can be stored before it is sent and found again after a lost
 * answer; brokers refuse a reused id forever. Its length is capped by the venue's
 * `capabilities.clientOrderIdLength`, and never above 48.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import type { Capabilities } from "../../effects/Broker.ts"
import type { Order } from "../../kernel/rebalance/orders.ts"

/**
 * The longest client order id a run makes, even where a venue allows more (Alpaca and paper
 * allow 128). Every id Keel has made fits in 48, the recorded sessions' included, and a replay
 * compares the ids the run makes with the recorded ones: a longer cap would change the ids of
 * long symbols, and so what a replay expects, for no gain. A venue that allows fewer gets its own.
 */
export const CLIENT_ORDER_ID_LENGTH = 48

/** How long a run's client order ids may be on a venue: 48, or the venue's limit where that is shorter. */
export const clientOrderIdLength = (capabilities: Pick<Capabilities, "clientOrderIdLength">): number =>
  Math.min(CLIENT_ORDER_ID_LENGTH, capabilities.clientOrderIdLength)

/** e.g. `20261122T034512-k3f9`: sortable by time, unique across runs started in the same second. */
export const makeRunId: Effect.Effect<string> = Effect.gen(function*() {
  const now = new Date(yield* Clock.currentTimeMillis)
  const stamp = now.toISOString().replace(/[-:]/g, "").slice(0, 15)
  const suffix = (yield* Random.nextIntBetween(0, 36 ** 4)).toString(36).padStart(4, "0")
  return `${stamp}-${suffix}`
})

/** A short, stable digest (32-bit FNV-1a) of what an id had to change or cut, so the id stays within its limit. */
const digest = (text: string): string => {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return (h >>> 0).toString(36)
}

/** Length of the digest that stands for what an id had to change or cut: `~` and 7 characters. */
const DIGEST_LENGTH = 8

/**
 * The id of one order of a run, at most `maxLength` characters (at least 8): `<run id>-<phase><side>-<symbol>`.
 * What had to be changed (characters a venue may refuse) or cut to fit is followed by a digest of the original:
 * of the symbol, or of the whole id once the run id itself is cut. So "BRK B" and "BRK_B", or two orders whose
 * ids differ only past the cut, get different ids.
 */
export const clientOrderId = (
  runId: string,
  order: Pick<Order, "phase" | "side" | "symbol">,
  maxLength: number
): string => {
  const head = `${runId}-${order.phase[0]}${order.side[0]}-`
  const safe = order.symbol.replace(/[^A-Za-z0-9._/-]/g, "_")
  const whole = head + safe
  if (safe === order.symbol && whole.length <= maxLength) return whole
  const kept = whole.slice(0, Math.max(0, maxLength - DIGEST_LENGTH))
  const original = kept.length >= head.length ? order.symbol : `${head}${order.symbol}`
  return `${kept}~${digest(original).padStart(DIGEST_LENGTH - 1, "0").slice(0, DIGEST_LENGTH - 1)}`
}

/**
 * An order id Keel made: `<run id>-<phase><side>-…`. Ids cut to a venue's limit keep the run id
 * whenever the limit leaves room for it (28 characters and more), so only on a venue with a shorter
 * limit could one of Keel's orders pass for an outside one.
 */
export const isKeelOrderId = (clientOrderId: string): boolean =>
  /^\d{8}T\d{6}-[0-9a-z]{4}-[bs][bs]-/.test(clientOrderId)

/** The UTC calendar day of a run, for the artifacts folder. */
export const day = (millis: number): string => new Date(millis).toISOString().slice(0, 10)

/** A run's artifacts folder under `root`: `<root>/<account>/<YYYY-MM-DD>/<run id>`, the day the run started (UTC). */
export const artifactsFolder = (root: string, account: string, startedAt: number, runId: string): string =>
  `${root}/${account}/${day(startedAt)}/${runId}`
