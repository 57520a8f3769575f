/**
 * `rebalance recover --account NAME`: recovery alone (run/recovery.ts), without trading. Every
 * earlier run of the account that did not settle is reconciled with the broker: its orders looked
 * up, missing fills booked, its open orders cancelled (whatever `openOrders` says: this is how an
 * operator clears an `abort` block), and a run still `running` closed as `crashed`. Orders at the
 * venue that no run of this store placed are left alone: they are the user's to judge.
 * Exit 0 when every run is settled, 3 when recovery could not finish, 2 on invalid input.
 */
import { Command } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { findAccount, leaseSettings, loadConfig, runTimeouts } from "../config.ts"
import { printed } from "../documents/document.ts"
import { RecoveryDocument } from "../documents/recovery.ts"
import { accountLayers, brokerLayer } from "../layers.ts"
import { makeRunId } from "../run/ids.ts"
import { holdLease } from "../run/lease.ts"
import { describeRecovery, recoverAccount } from "../run/recovery.ts"
import { accountFlag, configFlag, jsonFlag, waitFlag } from "./flags.ts"

const printRecovery = printed(RecoveryDocument)

const describe = (document: RecoveryDocument): string =>
  document.runs.length === 0
    ? `Nothing to recover for account ${document.account}: every earlier run is settled.`
    : [
      `Recovered account ${document.account} (${document.runs.length} run(s)):`,
      ...document.runs.map((r) => `  run ${r.runId} ${describeRecovery(document.recoveredBy, r)}`)
    ].join("\n")

export const recoverCommand = Command.make(
  "recover",
  { account: accountFlag, config: configFlag, json: jsonFlag, wait: waitFlag },
  (flags) =>
    Effect.gen(function*() {
      const loaded = yield* loadConfig(flags.config)
      const account = yield* findAccount(loaded, flags.account)
      const broker = yield* brokerLayer(loaded, account, { fractional: false })
      const timeouts = runTimeouts(loaded)
      const document = yield* Effect.scoped(Effect.gen(function*() {
        const id = `recover-${yield* makeRunId}`
        const lease = yield* holdLease(account.name, id, leaseSettings(loaded, flags.wait))
        const runs = yield* recoverAccount(lease, {
          onOpenOrders: "cancel",
          cancelTimeout: timeouts.fillTimeout,
          pollInterval: timeouts.pollInterval
        })
        return { account: account.name, recoveredBy: id, runs } satisfies RecoveryDocument
      })).pipe(Effect.provide(accountLayers(loaded, flags.json, broker.layer)))
      yield* Console.log(flags.json ? printRecovery(document) : describe(document))
    })
).pipe(Command.withDescription("Reconcile the account's unfinished runs with the broker, without trading"))
