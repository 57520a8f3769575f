/**
 * Artifacts: what a run leaves behind for people, next to what it leaves in the Store:
 * `<root>/<account>/<YYYY-MM-DD>/<run-id>/` with plan.json, orders.csv, result.json and
 * targets.json. Written for every run, failed ones too: they say where it stopped.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { writeCsv } from "../formats/csv.ts"
import { format } from "../kernel/decimal.ts"
import { attributed, planJson } from "./cli/plan.ts"
import { day } from "./run/ids.ts"
import type { RunOutcome } from "./run/rebalanceAccount.ts"

/** Each order of a run as the broker last reported it (a rejected one never reached it). */
export const orderRows = (outcome: RunOutcome) => {
  const known = new Map(outcome.orders.map((o) => [o.clientOrderId, o]))
  return outcome.submitted.map((s) => {
    const o = known.get(s.clientOrderId) ?? s.placed
    return {
      clientOrderId: s.clientOrderId,
      phase: s.order.phase,
      symbol: s.order.symbol,
      side: s.order.side,
      quantity: format(s.order.quantity),
      assumedPrice: format(s.order.price),
      status: o?.status ?? "rejected",
      filledQuantity: o === undefined ? "0" : format(o.filledQuantity),
      averageFillPrice: o?.averageFillPrice === undefined ? null : format(o.averageFillPrice),
      reason: s.rejection ?? o?.reason ?? null,
      ...attributed(s.order)
    }
  })
}

export const discrepancyRows = (outcome: RunOutcome) =>
  outcome.discrepancies.map((d) => ({ symbol: d.symbol, expected: format(d.expected), actual: format(d.actual) }))

/** The columns of orders.csv, in order. */
const ORDER_COLUMNS = [
  "client_order_id",
  "phase",
  "symbol",
  "side",
  "quantity",
  "assumed_price",
  "status",
  "filled_quantity",
  "average_fill_price",
  "reason",
  "strategy",
  "attribution"
] as const

/** orders.csv: one row per order of the run; unknown values are empty cells, attribution `strategy=weight` pairs. */
export const ordersCsv = (outcome: RunOutcome): Effect.Effect<string> =>
  writeCsv(
    ORDER_COLUMNS,
    orderRows(outcome).map((r) => ({
      client_order_id: r.clientOrderId,
      phase: r.phase,
      symbol: r.symbol,
      side: r.side,
      quantity: r.quantity,
      assumed_price: r.assumedPrice,
      status: r.status,
      filled_quantity: r.filledQuantity,
      average_fill_price: r.averageFillPrice ?? undefined,
      reason: r.reason ?? undefined,
      strategy: r.strategy ?? undefined,
      attribution: (r.attribution ?? []).map((a) => `${a.strategy}=${a.weight}`).join(" ")
    }))
  )

export const resultJson = (outcome: RunOutcome) => ({
  run: outcome.run,
  summary: outcome.summary,
  buyReplan: outcome.buys === undefined ? null : planJson(outcome.buys),
  discrepancies: discrepancyRows(outcome)
})

/** Writes the run's folder and returns its path; `targets` is the resolved targets document. */
export const writeArtifacts = (root: string, outcome: RunOutcome, targets: unknown) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = `${root}/${outcome.run.account}/${day(outcome.run.startedAt)}/${outcome.run.id}`
    yield* fs.makeDirectory(dir, { recursive: true })
    const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`
    yield* fs.writeFileString(`${dir}/plan.json`, json(outcome.plan === undefined ? null : planJson(outcome.plan)))
    yield* fs.writeFileString(`${dir}/orders.csv`, yield* ordersCsv(outcome))
    yield* fs.writeFileString(`${dir}/result.json`, json(resultJson(outcome)))
    yield* fs.writeFileString(`${dir}/targets.json`, json(targets))
    return dir
  })
