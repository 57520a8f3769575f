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
import { type ChannelConfig, type Config as NotificationsConfig, dispatchSettings } from "../effects/notifier/config.ts"
import * as ConsoleNotifier from "../effects/notifier/console.ts"
import * as Dispatch from "../effects/notifier/dispatch.ts"
import type { Store, StoreError } from "../effects/Store.ts"
import * as SqliteStore from "../effects/store/sqlite.ts"
import type { Calendar } from "../kernel/guards/calendar.ts"
import { type AccountConfig, ConfigDefaults, type KeelConfig, loadConfig, type LoadedConfig } from "./config.ts"

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
  options: { readonly fractional: boolean; readonly calendar?: Calendar | undefined }
): Effect.Effect<VenueBroker, InputFileError> =>
  brokerOf(account.broker, {
    file: loaded.file,
    dir: loaded.dir,
    at: `accounts[${loaded.config.accounts.indexOf(account)}].broker`,
    account: account.name,
    fractional: options.fractional,
    calendar: options.calendar
  })

/**
 * keel.yaml's notifications as one dispatcher's block: the `notifications:` channels and routes,
 * plus each short-form `notifiers: - webhook` entry as a webhook channel of its own (`webhook`,
 * `webhook-2`, …) that hears every account, one message per run. The console is not a channel:
 * it is wanted unless `notifiers` is given without it.
 */
export const notificationsOf = (config: KeelConfig) => {
  const entries = config.notifiers ?? ["console"]
  const hooks = entries.flatMap((entry) => (entry === "console" ? [] : [entry.webhook]))
  const named = hooks.map((hook, i) => [i === 0 ? "webhook" : `webhook-${i + 1}`, hook] as const)
  const block = config.notifications
  const channels: Record<string, ChannelConfig> = { ...block?.channels }
  for (const [name, hook] of named) {
    channels[name] = {
      kind: "webhook",
      urlEnv: hook.urlEnv,
      fleet: "each",
      ...(hook.timeoutSeconds === undefined ? {} : { timeoutSeconds: hook.timeoutSeconds })
    }
  }
  const routes = block?.routes === undefined
    ? undefined
    : named.length === 0
    ? block.routes
    : [...block.routes, { channels: [named[0]![0], ...named.slice(1).map(([name]) => name)] as const }]
  return {
    console: entries.includes("console"),
    dispatch: Object.keys(channels).length === 0 ? undefined : dispatchBlock(block, channels, routes)
  }
}

const dispatchBlock = (
  block: NotificationsConfig | undefined,
  channels: NotificationsConfig["channels"],
  routes: NotificationsConfig["routes"]
): NotificationsConfig => ({
  channels,
  ...(routes === undefined ? {} : { routes }),
  ...(block?.retry === undefined ? {} : { retry: block.retry })
})

/**
 * The console (unless left out: a fleet run's progress says it) and the dispatcher of every other
 * channel: routed, retried, each delivery recorded in the Store; in a fleet run, digests when the
 * Layer's scope closes. Every summary goes to both; one that fails does not stop the other.
 */
export const notifierLayer = (
  loaded: LoadedConfig,
  options: { readonly stderr: boolean; readonly console?: boolean; readonly fleet?: Dispatch.Fleet }
): Layer.Layer<Notifier, InputFileError, HttpClient.HttpClient | FileSystem.FileSystem | Store> =>
  Layer.effect(Notifier)(
    Effect.gen(function*() {
      const wanted = notificationsOf(loaded.config)
      const shapes: Array<NotifierShape> = []
      if (wanted.console && options.console !== false) {
        shapes.push(yield* Effect.provide(Notifier.useSync((n) => n), ConsoleNotifier.layer(options)))
      }
      if (wanted.dispatch !== undefined) {
        const settings = yield* dispatchSettings(wanted.dispatch, {
          file: loaded.file,
          dir: loaded.dir,
          at: "notifications",
          groups: loaded.config.groups ?? {}
        })
        shapes.push(yield* Dispatch.make(settings, options.fleet))
      }
      return Notifier.of({
        notify: (message) =>
          Effect.forEach(shapes, (n) => Effect.result(n.notify(message))).pipe(
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
) => {
  const store = storeLayer(databaseFile(loaded))
  return Layer.mergeAll(
    broker.pipe(Layer.provideMerge(store)),
    notifierLayer(loaded, { stderr: json }).pipe(Layer.provide(store))
  ).pipe(
    Layer.provide(NodeHttpClient.layerUndici)
  )
}

/**
 * What every account of a fleet run shares: one Store on the configured database, the
 * notifiers but the console, and an HTTP client. Each account adds its own broker on top.
 */
export const fleetLayers = (loaded: LoadedConfig, fleet: Dispatch.Fleet) =>
  notifierLayer(loaded, { stderr: true, console: false, fleet }).pipe(
    Layer.provideMerge(storeLayer(databaseFile(loaded))),
    Layer.provideMerge(NodeHttpClient.layerUndici)
  )
