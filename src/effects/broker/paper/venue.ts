/**
 * The paper venue as the registry holds it: its keel.yaml block, its capabilities, and its
 * Broker from the block (no credentials; its books live in the account's database).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Venue } from "../../Broker.ts"
import { capabilities } from "./capabilities.ts"
import { Config, paperConfig } from "./config.ts"

export const venue: Venue<typeof Config> = {
  Config,
  capabilities,
  layer: (config, context) =>
    Effect.succeed({
      layer: Layer.unwrap(
        Effect.map(
          Effect.promise(() => import("./layer.ts")),
          (Paper) => Paper.layer(paperConfig(config, context))
        )
      ),
      secrets: []
    })
}
