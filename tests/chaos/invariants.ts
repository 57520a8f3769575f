/**
 * What must hold once a session is over, counted from the venue's books against Keel's Store.
 * Every count is of things that went wrong, so a good session counts 0 everywhere; each count comes
 * with one line per finding saying what was seen, for the report.
 *
 * An order at the venue is matched to its intent by client order id, or by the broker order id the
 * intent recorded (an Alpaca close, `DELETE /v2/positions`, carries a client order id of Alpaca's
 * choosing).
 */
import { type Decimal, format, isNegative, sumOf, ZERO } from "../../src/kernel/decimal.ts"
import type { StoredIntent, StoreRecords } from "./keelStore.ts"
import { type Exit, exitLabel, lastWords, settledExit } from "./processes.ts"
import type { VenueBooks, VenueOrder } from "./venueBooks.ts"

export const INVARIANTS = [
  "duplicateOrders",
  "overspends",
  "lostFills",
  "intentsNotFinal",
  "runsLeftRunning",
  "ordersWithoutIntent",
  "doubleExecutedPlans",
  "unexpectedExits",
  "leaseNotReported"
] as const
export type Invariant = (typeof INVARIANTS)[number]

/** What each count means, in the report's words. */
export const INVARIANT_NAMES: Readonly<Record<Invariant, string>> = {
  duplicateOrders: "duplicate orders",
  overspends: "overspends",
  lostFills: "lost fills",
  intentsNotFinal: "intents not final",
  runsLeftRunning: "runs left running",
  ordersWithoutIntent: "venue orders without intent",
  doubleExecutedPlans: "double-executed plans",
  unexpectedExits: "exits other than 0/3",
  leaseNotReported: "lease refusal missing"
}

export type Counts = Readonly<Record<Invariant, number>>

export interface Findings {
  readonly counts: Counts
  /** One line per finding: what was seen where. */
  readonly notes: ReadonlyArray<string>
}

export const NO_FINDINGS: Findings = {
  counts: Object.fromEntries(INVARIANTS.map((name) => [name, 0])) as Record<Invariant, number>,
  notes: []
}

export const combine = (...all: ReadonlyArray<Findings>): Findings => ({
  counts: Object.fromEntries(
    INVARIANTS.map((name) => [name, all.reduce((total, f) => total + f.counts[name], 0)])
  ) as Record<Invariant, number>,
  notes: all.flatMap((f) => f.notes)
})

/** Findings of one invariant. */
export const found = (invariant: Invariant, notes: ReadonlyArray<string>): Findings => ({
  counts: { ...NO_FINDINGS.counts, [invariant]: notes.length },
  notes
})

/** Intent statuses after which nothing more happens to the order. */
const FINAL = new Set(["filled", "canceled", "rejected", "expired", "unsent"])

/** A refusal, by the venue or in the intent's reason, for lack of buying power or cash. */
const CASH_REFUSAL = /buying power|insufficient cash/i

/** Quantity traded per symbol and side (`"VTI buy"`). */
export type Traded = ReadonlyMap<string, Decimal>

/** What the venue's orders, except those in `before`, traded per symbol and side. */
export const tradedBy = (orders: ReadonlyArray<VenueOrder>, before: ReadonlySet<string>): Traded => {
  const traded = new Map<string, Decimal>()
  for (const order of orders) {
    if (before.has(order.id)) continue
    const key = `${order.symbol} ${order.side}`
    traded.set(key, (traded.get(key) ?? ZERO).plus(order.filledQuantity))
  }
  return traded
}

export interface Evidence {
  readonly venue: VenueBooks
  readonly store: StoreRecords
  /** Venue order ids that were there before the session (its setup): not the session's trades. */
  readonly before: ReadonlySet<string>
  /** What the uninterrupted session traded. */
  readonly baseline: Traded
  /** What a re-plan after a crash may trade beyond the baseline, per symbol and side: one quantity step. */
  readonly step: Decimal
}

/** The intent each venue order stands for. */
const intentsOf = (evidence: Evidence): ReadonlyMap<VenueOrder, StoredIntent | undefined> => {
  const byClientId = new Map(evidence.store.intents.map((i) => [i.clientOrderId, i]))
  const byBrokerId = new Map(
    evidence.store.intents.flatMap((i) => i.brokerOrderId === undefined ? [] : [[i.brokerOrderId, i]])
  )
  return new Map(evidence.venue.orders.map((o) => [o, byClientId.get(o.clientOrderId) ?? byBrokerId.get(o.id)]))
}

const duplicates = (evidence: Evidence): Findings => {
  const perClientId = new Map<string, number>()
  for (const o of evidence.venue.orders) perClientId.set(o.clientOrderId, (perClientId.get(o.clientOrderId) ?? 0) + 1)
  const reused = [...perClientId].filter(([, n]) => n > 1).map(([id, n]) =>
    `client order id ${id} at the venue ${n} times`
  )
  const overTraded = [...tradedBy(evidence.venue.orders, evidence.before)].flatMap(([key, quantity]) => {
    const limit = (evidence.baseline.get(key) ?? ZERO).plus(evidence.step)
    return quantity.gt(limit)
      ? [`${key}: traded ${format(quantity)}, uninterrupted ${format(evidence.baseline.get(key) ?? ZERO)}`]
      : []
  })
  return found("duplicateOrders", [...reused, ...overTraded])
}

const overspends = (evidence: Evidence): Findings => {
  const refused = new Set([
    ...evidence.venue.refusedForCash,
    ...evidence.store.intents.filter((i) => CASH_REFUSAL.test(i.reason ?? "")).map((i) => i.clientOrderId)
  ])
  return found("overspends", [
    ...(isNegative(evidence.venue.cash) ? [`venue cash ${format(evidence.venue.cash)}`] : []),
    ...[...refused].map((id) => `${id} refused or cancelled for buying power`)
  ])
}

const lostFills = (evidence: Evidence, intents: ReadonlyMap<VenueOrder, StoredIntent | undefined>): Findings => {
  const stored = new Map<string, Array<Decimal>>()
  for (const fill of evidence.store.fills) {
    stored.set(fill.clientOrderId, [...(stored.get(fill.clientOrderId) ?? []), fill.quantity])
  }
  const storedFor = (clientOrderId: string) => sumOf(stored.get(clientOrderId) ?? [])
  const matched = new Set<string>()
  const atVenue = [...intents].flatMap(([order, intent]) => {
    const id = intent?.clientOrderId ?? order.clientOrderId
    matched.add(id)
    const booked = storedFor(id)
    return booked.eq(order.filledQuantity)
      ? []
      : [`${id}: venue filled ${format(order.filledQuantity)}, Store's fills ${format(booked)}`]
  })
  const phantom = [...stored.keys()].filter((id) => !matched.has(id) && !storedFor(id).eq(ZERO)).map((id) =>
    `${id}: Store's fills ${format(storedFor(id))}, no order at the venue`
  )
  return found("lostFills", [...atVenue, ...phantom])
}

/** Counts every invariant the books and the Store can tell (not exits, lease lines or double execution). */
export const checkBooks = (evidence: Evidence): Findings => {
  const intents = intentsOf(evidence)
  return combine(
    duplicates(evidence),
    overspends(evidence),
    lostFills(evidence, intents),
    found(
      "intentsNotFinal",
      evidence.store.intents.filter((i) => !FINAL.has(i.status)).map((i) => `intent ${i.clientOrderId} ${i.status}`)
    ),
    found(
      "runsLeftRunning",
      evidence.store.runs.filter((r) => r.status === "running").map((r) => `run ${r.id} running at ${r.step}`)
    ),
    found(
      "ordersWithoutIntent",
      [...intents].filter(([, intent]) => intent === undefined).map(([o]) => `venue order ${o.id} (${o.clientOrderId})`)
    )
  )
}

/** The runs, other than those in `before`, that own at least one order at the venue. */
export const executingRuns = (evidence: Evidence, before: ReadonlySet<string>): ReadonlyArray<string> => {
  const runs = new Set<string>()
  for (const [, intent] of intentsOf(evidence)) {
    if (intent !== undefined && !before.has(intent.runId)) runs.add(intent.runId)
  }
  return [...runs]
}

/** Keel's processes that exited other than 0 (completed) or 3 (not completed), or hung: `what` names each. */
export const unexpectedExits = (exits: ReadonlyArray<readonly [string, Exit]>): Findings =>
  found(
    "unexpectedExits",
    exits.filter(([, exit]) => !settledExit(exit)).map(([what, exit]) =>
      `${what} exited ${exitLabel(exit)}: ${lastWords(exit)}`
    )
  )
