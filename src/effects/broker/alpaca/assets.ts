/**
 * Alpaca's active US equities, asked once a trading day: one `GET /v2/assets?status=active&asset_class=us_equity`
 * answers for every symbol, where asking symbol by symbol would spend a request on each, in
 * every run. A symbol absent from the list is inactive or unknown at Alpaca: it is not tradable.
 *
 * The list holds thousands of entries and a run reads a few: entries are indexed by their
 * symbol alone, and the entry of a symbol a run asks about is decoded then. That one is read
 * strictly (its `tradable` and `fractionable` decide what is ordered, so a malformed one fails
 * the call and names the symbol), while an odd entry of any other symbol is never read and
 * cannot sink the list. An entry without a symbol can be no symbol's; it is passed over.
 *
 * The list is kept per trading host for the trading day (the date in New York, on Effect's
 * Clock): every Broker given the same lists (the registry's Brokers share the process's) asks
 * once a day, whatever its account; a failed request is not kept, and the next call asks again.
 * One request at a time per host: runs that ask together share its answer. No symbols, no request.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import { AlpacaDefaults } from "./config.ts"
import * as Alpaca from "./schemas.ts"

/** The active-asset lists of trading hosts, each kept for its trading day. */
export interface AssetLists {
  /**
   * The entries `host` lists as active for `symbols`, decoded; a symbol not listed is left out.
   * The list kept for the trading day answers, else `list` (the caller's own request) is sent.
   */
  readonly of: <E>(
    host: string,
    list: Effect.Effect<ReadonlyArray<unknown>, E>,
    symbols: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Alpaca.Asset>, E | Alpaca.PayloadError>
}

const dayParts = new Intl.DateTimeFormat("en-US", {
  timeZone: AlpacaDefaults.marketTimeZone,
  year: "numeric",
  month: "2-digit",
  day: "2-digit"
})

/** The trading day of an instant (epoch milliseconds): its date where the market is, `2026-03-09`. */
export const tradingDay = (millis: number): string => {
  const part = (type: string) => dayParts.formatToParts(millis).find((p) => p.type === type)?.value
  return `${part("year")}-${part("month")}-${part("day")}`
}

const isListed = Schema.is(Alpaca.Listed)

/** The list's entries by symbol, each as Alpaca sent it. */
const bySymbol = (entries: ReadonlyArray<unknown>): ReadonlyMap<string, unknown> =>
  new Map(entries.filter(isListed).map((entry) => [entry.symbol, entry]))

interface HostList {
  readonly lock: Semaphore.Semaphore
  kept: { readonly day: string; readonly entries: ReadonlyMap<string, unknown> } | undefined
}

/** Lists kept apart from any one Broker, so that every Broker given them shares each host's list. */
export const makeAssetLists = (): AssetLists => {
  const hosts = new Map<string, HostList>()
  const hostList = (host: string): HostList => {
    const known = hosts.get(host)
    if (known !== undefined) return known
    const fresh: HostList = { lock: Semaphore.makeUnsafe(1), kept: undefined }
    hosts.set(host, fresh)
    return fresh
  }
  const today = <E>(host: HostList, list: Effect.Effect<ReadonlyArray<unknown>, E>) =>
    host.lock.withPermits(1)(Effect.gen(function*() {
      const day = tradingDay(yield* Clock.currentTimeMillis)
      if (host.kept?.day === day) return host.kept.entries
      const entries = bySymbol(yield* list)
      host.kept = { day, entries }
      return entries
    }))
  return {
    of: (host, list, symbols) =>
      symbols.length === 0 ?
        Effect.succeed([]) :
        Effect.flatMap(today(hostList(host), list), (entries) =>
          Effect.forEach(
            [...new Set(symbols)].filter((symbol) => entries.has(symbol)),
            (symbol) => Alpaca.decode(Alpaca.Asset, `GET /v2/assets: the entry of ${symbol}`)(entries.get(symbol))
          ))
  }
}

/** The process's lists: every Alpaca account the registry builds shares them (a fleet asks once a day per host). */
export const processAssetLists: AssetLists = makeAssetLists()
