/**
 * A run request from an account's keel.yaml entry: its inputs read and validated, its venue
 * chosen, and how it treats open and outside orders, timeouts and its lease. `rebalance run`
 * makes one for its account, a fleet run one per account.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import { accountInputs } from "./accountInputs.ts"
import { type AccountConfig, artifactsRoot, leaseSettings, type LoadedConfig, runTimeouts } from "./config.ts"
import { type GuardFlags, runGuards } from "./guardsConfig.ts"
import { brokerLayer } from "./layers.ts"
import type { RunRequest } from "./run/rebalanceAccount.ts"

/** How a run was asked for on the command line. */
export interface RunFlags extends GuardFlags {
  readonly execute: boolean
  readonly ignoreMarketHours: boolean
  /** Seconds to wait while another run holds the account. */
  readonly wait?: number | undefined
}

/** The request, the inputs it came from (for artifacts and recordings) and the account's venue. */
export const prepareRun = (loaded: LoadedConfig, account: AccountConfig, flags: RunFlags) =>
  Effect.gen(function*() {
    const inputs = yield* accountInputs(loaded, account).pipe(Effect.provide(NodeHttpClient.layerUndici))
    const guards = yield* runGuards(loaded, account, flags)
    const request: RunRequest = {
      account: account.name,
      targets: inputs.targets,
      policy: inputs.policy,
      execute: flags.execute,
      ignoreMarketHours: flags.ignoreMarketHours,
      onOpenOrders: account.openOrders ?? "cancel",
      onOutsideOrders: account.outsideOrders ?? "abort",
      ...runTimeouts(loaded),
      notes: inputs.resolved.warnings,
      lease: leaseSettings(loaded, flags.wait ?? 0),
      artifacts: artifactsRoot(loaded),
      guards
    }
    const venue = yield* brokerLayer(loaded, account, {
      fractional: inputs.policy.shares === "fractional",
      calendar: guards.calendar
    })
    return { request, inputs, venue }
  })
