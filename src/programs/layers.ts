/**
 * From keel.yaml to Layers: the one place that decides which Broker, Store and Notifier
 * an account runs against. The program never changes; only this wiring does. Which venue,
 * and how its block becomes a Broker, is the broker registry's (effects/broker/registry.ts).
 *
 * Each module migrates its own tables with its own migrations table: the Store here (effect/sql's
 * default table), the paper venue in its layer (`keel_paper_migrations`, and only for a paper
 * account). effect/sql's Migrator only applies ids above the highest one already applied, so
 * one shared table would silently skip a later Store migration once a paper migration had run.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import type * as SqlClient from "effect/sql/SqlClient"
import * as Fs from "node:fs"
import type { VenueBroker } from "../effects/Broker.ts"
import { brokerOf } from "../effects/broker/registry.ts"
import { InputFileError } from "../effects/inputs.ts"
import { Notifier, type NotifierShape } from "../effects/Notifier.ts"
import * as ConsoleNotifier from "../effects/notifier/console.ts"
import * as WebhookNotifier from "../effects/notifier/webhook.ts"
import { secretFromEnv } from "../effects/secrets.ts"
import type { Store, StoreError } from "../effects/Store.ts"
import * as SqliteStore from "../effects/store/sqlite.ts"
import { type AccountConfig, ConfigDefaults, loadConfig, type LoadedConfig } from "./config.ts"

/** The database file of a config; like the artifacts folder, relative to the working directory (where `.keel/` lives). */
export const databaseFile = (loaded: LoadedConfig): string => loaded.config.store?.sqlite ?? ConfigDefaults.sqlite

/**
 * SQLite with the Store's tables migrated, and the Store on it. A path that is a folder is the
 * user's input (exit 2); a database that cannot be opened or is not Keel's is a StoreError.
 */
export const storeLayer = (
  filename: string
): Layer.Layer<Store | SqlClient.SqlClient, StoreError | InputFileError> =>
  Layer.unwrap(Effect.suspend(() =>
    Fs.statSync(filename, { throwIfNoEntry: false })?.isDirectory() === true
      ? Effect.fail(new InputFileError({ file: filename, detail: "expected a database file, got a folder" }))
      : Effect.succeed(SqliteStore.layer({ filename }))
  ))

/**
 * The Store for a command that only reads it (`status`, `history`, `positions`): a store that does
 * not exist yet is read as an empty one, in memory, so reading never creates `.keel/` or a database.
 */
export const readOnlyStore = (
  filename: string
): Layer.Layer<Store | SqlClient.SqlClient, StoreError | InputFileError> =>
  Layer.unwrap(Effect.sync(() => storeLayer(Fs.existsSync(filename) ? filename : ":memory:")))

/** The Store of a config file, to read; with no config file at the default path, the default store. */
export const configuredStore = (config: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(config).pipe(Effect.orElseSucceed(() => false))
    if (!exists && config === ConfigDefaults.file) return readOnlyStore(ConfigDefaults.sqlite)
    return readOnlyStore(databaseFile(yield* loadConfig(config)))
  })

/**
 * The account's Broker, from its venue's block: a failure (a live host without `live: true`, a
 * credential missing from the environment) is one line naming the file and the field.
 */
export const brokerLayer = (
  loaded: LoadedConfig,
  account: AccountConfig,
  options: { readonly fractional: boolean }
): Effect.Effect<VenueBroker, InputFileError> =>
  brokerOf(account.broker, {
    file: loaded.file,
    dir: loaded.dir,
    at: `accounts[${loaded.config.accounts.indexOf(account)}].broker`,
    account: account.name,
    fractional: options.fractional
  })

/**
 * Every configured notifier (console when none is); each summary goes to all of them, and
 * one that fails does not stop the others. Webhook URLs are read as redacted Config.
 */
export const notifierLayer = (
  loaded: LoadedConfig,
  options: { readonly stderr: boolean }
): Layer.Layer<Notifier, InputFileError, HttpClient.HttpClient> =>
  Layer.effect(Notifier)(
    Effect.gen(function*() {
      const configured = loaded.config.notifiers ?? ["console"]
      const shapes: Array<NotifierShape> = []
      for (const [i, entry] of configured.entries()) {
        const layer = entry === "console"
          ? ConsoleNotifier.layer(options)
          : WebhookNotifier.layer({
            url: yield* secretFromEnv({
              file: loaded.file,
              field: `notifiers[${i}].webhook.urlEnv`,
              variable: entry.webhook.urlEnv,
              what: "the webhook URL"
            }),
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

/**
 * The Layers of one account: Store and the given broker on the configured database, and
 * the notifiers (on stderr when stdout carries JSON).
 */
export const accountLayers = <ROut, E>(
  loaded: LoadedConfig,
  json: boolean,
  broker: Layer.Layer<ROut, E, SqlClient.SqlClient | HttpClient.HttpClient>
) =>
  Layer.mergeAll(
    broker.pipe(Layer.provideMerge(storeLayer(databaseFile(loaded)))),
    notifierLayer(loaded, { stderr: json })
  ).pipe(
    Layer.provide(NodeHttpClient.layerUndici)
  )
