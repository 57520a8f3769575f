/**
 * The paper venue as the registry holds it: its keel.yaml block, its capabilities, and its
 * Broker from the block (no credentials; its books live in their own file, see config.ts
 * `booksFile`). Beside it, the matcher alone for `rebalance paper-venue`.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Path from "node:path"
import type { Venue, VenueContext } from "../../Broker.ts"
import { capabilities } from "./capabilities.ts"
import { booksFile, Config, paperConfig } from "./config.ts"

/** The layer's modules load only when a paper account is used. */
const load = Effect.promise(() =>
  Promise.all([import("./layer.ts"), import("../../sql/SqliteClient.ts")]).then(([Paper, Sqlite]) => ({
    Paper,
    Sqlite
  }))
)

export const venue: Venue<typeof Config> = {
  Config,
  capabilities,
  layer: (config, context) =>
    Effect.succeed({
      layer: Layer.unwrap(
        Effect.map(load, ({ Paper }) =>
          Paper.layerFile(paperConfig(config, context), { filename: booksFile(config, context) }))
      ),
      secrets: []
    })
}

/** A paper account's block and where it sits, as the matcher needs them. */
export interface PaperAccount {
  readonly config: Config
  readonly context: VenueContext
}

/**
 * The matchers of the given paper accounts, filling their open orders until the layer's scope
 * closes (see layer.ts `matcherLayer`). Accounts whose books share a file share its connection.
 */
export const matchers = (accounts: ReadonlyArray<PaperAccount>, sweepEvery: Duration.Input) =>
  Layer.unwrap(Effect.map(load, ({ Paper, Sqlite }) => {
    const byFile = new Map<string, { readonly named: string; readonly sharing: Array<PaperAccount> }>()
    for (const account of accounts) {
      const named = booksFile(account.config, account.context)
      const file = byFile.get(Path.resolve(named)) ?? { named, sharing: [] }
      file.sharing.push(account)
      byFile.set(Path.resolve(named), file)
    }
    return Layer.mergeAll(
      Layer.empty,
      ...[...byFile].map(([filename, { named, sharing }]) =>
        Layer.mergeAll(
          Layer.empty,
          ...sharing.map((a) => Paper.matcherLayer(paperConfig(a.config, a.context), sweepEvery))
        ).pipe(Layer.provide(Sqlite.layer({ filename, synchronous: "normal" })), Paper.onBooksFile(named))
      )
    )
  }))
