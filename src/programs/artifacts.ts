/**
 * Artifacts: what a run leaves behind for people, next to what it leaves in the Store:
 * `<root>/<account>/<YYYY-MM-DD>/<run-id>/` with plan.json, orders.csv, result.json and
 * targets.json. Written for every run, failed ones too: they say where it stopped.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Schema from "effect/Schema"
import { writeCsv } from "../formats/csv.ts"
import { printed } from "./documents/document.ts"
import { outcomeDocument, ResultDocument, RunOrderDocument, runOrders } from "./documents/outcome.ts"
import { PlanDocument } from "./documents/plan.ts"
import { ResolvedTargetsDocument } from "./documents/resolvedTargets.ts"
import { artifactsFolder } from "./run/ids.ts"
import type { RunOutcome } from "./run/rebalanceAccount.ts"

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

const encodeOrder = Schema.encodeSync(RunOrderDocument)

/**
 * orders.csv: one row per order of the run, its cells as the order's document writes them;
 * unknown values are empty cells, attribution `strategy=weight` pairs.
 */
const ordersCsv = (outcome: RunOutcome): Effect.Effect<string> =>
  writeCsv(
    ORDER_COLUMNS,
    runOrders(outcome).map((order) => encodeOrder(order)).map((r) => ({
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

/** A document as a file: printed, ending in a line break. */
const file = <A, E>(schema: Schema.Codec<A, E>) => {
  const print = printed(schema)
  return (document: A): string => `${print(document)}\n`
}

const planFile = file(Schema.NullOr(PlanDocument))
const resultFile = file(ResultDocument)
const targetsFile = file(ResolvedTargetsDocument)

/** Writes the run's folder and returns its path; `targets` are the run's resolved targets. */
export const writeArtifacts = (root: string, outcome: RunOutcome, targets: ResolvedTargetsDocument) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = artifactsFolder(root, outcome.run.account, outcome.run.startedAt, outcome.run.id)
    const document = outcomeDocument(outcome, dir)
    yield* fs.makeDirectory(dir, { recursive: true })
    yield* fs.writeFileString(`${dir}/plan.json`, planFile(document.plan ?? null))
    yield* fs.writeFileString(`${dir}/orders.csv`, yield* ordersCsv(outcome))
    yield* fs.writeFileString(`${dir}/result.json`, resultFile(document))
    yield* fs.writeFileString(`${dir}/targets.json`, targetsFile(targets))
    return dir
  })
