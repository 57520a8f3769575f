/**
 * Alpaca as the registry holds it: its keel.yaml block, its capabilities, and its Broker from
 * the block. The hosts and credentials are checked when the Broker is asked for, before any run
 * starts; the adapter's HTTP and websocket modules load only then.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Venue } from "../../Broker.ts"
import { capabilities } from "./capabilities.ts"
import { alpacaConfig, Config } from "./config.ts"

export const venue: Venue<typeof Config> = {
  Config,
  capabilities,
  layer: (config, context) =>
    Effect.map(alpacaConfig(config, context), ({ config, secrets }) => ({
      // Every account shares the process's active-asset lists (a fleet asks once a trading day per
      // host) and its connections' rate limits (accounts on one key share Alpaca's count).
      layer: Layer.unwrap(
        Effect.map(
          Effect.promise(() => Promise.all([import("./layer.ts"), import("./assets.ts"), import("./http.ts")])),
          ([Alpaca, assets, http]) =>
            Alpaca.layer(config, undefined, assets.processAssetLists, http.processConnectionLimits)
        )
      ),
      secrets
    }))
}
