/**
 * From keel.yaml to Layers: the one place that decides which Broker, Store and Notifier
 * an account runs against. The program never changes; only this wiring does.
 *
 * Each module migrates its own tables with its own migrations table, because effect/sql's
 * Migrator only applies ids above the highest one already applied: one shared table would
 * silently skip a later store migration once a paper migration had run.
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Migrator from "effect/sql/Migrator"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import type * as HttpClient from "effect/http/HttpClient"
import { Broker } from "../effects/Broker.ts"
import * as Paper from "../effects/broker/paper.ts"
import { Notifier, type NotifierShape } from "../effects/Notifier.ts"
import * as ConsoleNotifier from "../effects/notifier/console.ts"
import * as WebhookNotifier from "../effects/notifier/webhook.ts"
import * as SqliteClient from "../effects/sql/SqliteClient.ts"
import { InputFileError } from "../effects/inputs.ts"
import * as SqlStore from "../effects/store/sql.ts"
import type { Store } from "../effects/Store.ts"
import { type AccountConfig, ConfigDefaults, type LoadedConfig, type PaperBrokerConfig } from "./config.ts"

export const PAPER_MIGRATIONS_TABLE = "keel_paper_migrations"

const resolve = (loaded: LoadedConfig, file: string): string =>
  file === ":memory:" || file.startsWith("/") ? file : `${loaded.dir}/${file}`

/** The database file of a config; like the artifacts folder, relative to the working directory (where `.keel/` lives). */
export const databaseFile = (loaded: LoadedConfig): string => loaded.config.store?.sqlite ?? ConfigDefaults.sqlite

/** SQLite with every module's tables migrated, and the Store on it. */
export const storeLayer = (filename: string): Layer.Layer<Store | SqlClient.SqlClient, SqlError | Migrator.MigrationError> =>
  Layer.mergeAll(
    SqlStore.layer,
    Layer.effectDiscard(Migrator.make({})({ loader: Migrator.fromRecord(Paper.paperMigrations), table: PAPER_MIGRATIONS_TABLE }))
  ).pipe(Layer.provideMerge(SqliteClient.layer({ filename })))

export const paperConfig = (loaded: LoadedConfig, name: string, broker: PaperBrokerConfig): Paper.PaperConfig => ({
  account: name,
  startingCash: String(broker.startingCash ?? ConfigDefaults.startingCash),
  quotes:
    broker.randomWalk !== undefined
      ? {
          kind: "random-walk",
          seed: broker.randomWalk.seed,
          start: Object.fromEntries(Object.entries(broker.randomWalk.prices).map(([s, p]) => [s, String(p)])),
          volatilityBps: broker.randomWalk.volatilityBps ?? 50
        }
      : { kind: "file", path: resolve(loaded, broker.quotes ?? "quotes.csv") },
  ...(broker.slippageBps === undefined ? {} : { slippageBps: broker.slippageBps }),
  commission: {
    ...(broker.commissionPerOrder === undefined ? {} : { perOrder: String(broker.commissionPerOrder) }),
    ...(broker.commissionPerShare === undefined ? {} : { perShare: String(broker.commissionPerShare) })
  },
  ...(broker.fillLatencySeconds === undefined ? {} : { fillLatency: `${broker.fillLatencySeconds} seconds` as const }),
  ...(broker.partialFills === undefined ? {} : { partialFills: broker.partialFills }),
  ...(broker.rejectionRate === undefined ? {} : { rejectionRate: broker.rejectionRate }),
  ...(broker.rejectionSeed === undefined ? {} : { seed: broker.rejectionSeed }),
  ...(broker.marketOpen === undefined ? {} : { marketOpen: broker.marketOpen })
})

/** The account's broker. Only the paper broker exists today; live brokers plug in here. */
export const brokerLayer = (
  loaded: LoadedConfig,
  account: AccountConfig
): Layer.Layer<Broker | Paper.PaperControls, Paper.PaperConfigError | SqlError, SqlClient.SqlClient> => Paper.layer(paperConfig(loaded, account.name, account.broker))

/** A webhook URL from the environment, redacted; missing or empty is one line naming the file and the variable, never a value. */
const webhookUrl = (loaded: LoadedConfig, index: number, variable: string) =>
  Config.Redacted(variable).pipe(
    Effect.flatMap((url) => (Redacted.value(url).trim() === "" ? Effect.fail(undefined) : Effect.succeed(url))),
    Effect.mapError(
      () =>
        new InputFileError({
          file: loaded.file,
          detail: `notifiers[${index}].webhook.urlEnv: expected the environment variable ${variable} to hold the webhook URL, got nothing`
        })
    )
  )

/**
 * Every configured notifier (console when none is); each summary goes to all of them, and
 * one that fails does not stop the others. Webhook URLs are read as redacted Config.
 */
export const notifierLayer = (
  loaded: LoadedConfig,
  options: { readonly stderr: boolean }
): Layer.Layer<Notifier, InputFileError, HttpClient.HttpClient> =>
  Layer.effect(Notifier)(
    Effect.gen(function* () {
      const configured = loaded.config.notifiers ?? ["console"]
      const shapes: Array<NotifierShape> = []
      for (const [i, entry] of configured.entries()) {
        const layer =
          entry === "console"
            ? ConsoleNotifier.layer(options)
            : WebhookNotifier.layer({
                url: yield* webhookUrl(loaded, i, entry.webhook.urlEnv),
                timeout: `${entry.webhook.timeoutSeconds ?? ConfigDefaults.webhookTimeoutSeconds} seconds`
              })
        shapes.push(yield* Effect.provide(Notifier.useSync((n) => n), layer))
      }
      return Notifier.of({
        notify: (summary) =>
          Effect.forEach(shapes, (n) => Effect.result(n.notify(summary))).pipe(
            Effect.flatMap((results) => {
              const failed = results.find((r) => r._tag === "Failure")
              return failed === undefined ? Effect.void : Effect.fail(failed.failure)
            })
          )
      })
    })
  )
