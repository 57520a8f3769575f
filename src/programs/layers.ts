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
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Migrator from "effect/sql/Migrator"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { Broker } from "../effects/Broker.ts"
import * as Alpaca from "../effects/broker/alpaca/layer.ts"
import * as Paper from "../effects/broker/paper/layer.ts"
import { InputFileError } from "../effects/inputs.ts"
import { Notifier, type NotifierShape } from "../effects/Notifier.ts"
import * as ConsoleNotifier from "../effects/notifier/console.ts"
import * as WebhookNotifier from "../effects/notifier/webhook.ts"
import * as SqliteClient from "../effects/sql/SqliteClient.ts"
import type { Store } from "../effects/Store.ts"
import * as SqlStore from "../effects/store/sql.ts"
import {
  type AccountConfig,
  type AlpacaBrokerConfig,
  ConfigDefaults,
  type LoadedConfig,
  type PaperBrokerConfig
} from "./config.ts"

export const PAPER_MIGRATIONS_TABLE = "keel_paper_migrations"

const resolve = (loaded: LoadedConfig, file: string): string =>
  file === ":memory:" || file.startsWith("/") ? file : `${loaded.dir}/${file}`

/** The database file of a config; like the artifacts folder, relative to the working directory (where `.keel/` lives). */
export const databaseFile = (loaded: LoadedConfig): string => loaded.config.store?.sqlite ?? ConfigDefaults.sqlite

/** SQLite with every module's tables migrated, and the Store on it. */
export const storeLayer = (
  filename: string
): Layer.Layer<Store | SqlClient.SqlClient, SqlError | Migrator.MigrationError> =>
  Layer.mergeAll(
    SqlStore.layer,
    Layer.effectDiscard(
      Migrator.make({})({ loader: Migrator.fromRecord(Paper.paperMigrations), table: PAPER_MIGRATIONS_TABLE })
    )
  ).pipe(Layer.provideMerge(SqliteClient.layer({ filename })))

/** The paper broker of an account, with its controls (`rebalance positions` reads its books). */
export const paperLayer = (loaded: LoadedConfig, name: string, broker: PaperBrokerConfig) =>
  Paper.layer(paperConfig(loaded, name, broker))

export const paperConfig = (loaded: LoadedConfig, name: string, broker: PaperBrokerConfig): Paper.PaperConfig => ({
  account: name,
  startingCash: String(broker.startingCash ?? ConfigDefaults.startingCash),
  quotes: broker.randomWalk !== undefined
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

/** A secret from the environment, redacted; missing or empty is one line naming the file, the field and the variable, never a value. */
const secretEnv = (loaded: LoadedConfig, field: string, variable: string, what: string) =>
  Config.Redacted(variable).pipe(
    Effect.flatMap((value) => (Redacted.value(value).trim() === "" ? Effect.fail(undefined) : Effect.succeed(value))),
    Effect.mapError(
      () =>
        new InputFileError({
          file: loaded.file,
          detail: `${field}: expected the environment variable ${variable} to hold ${what}, got nothing`
        })
    )
  )

/** A URL's host, lower case and without a trailing dot (`api.alpaca.markets.` is the same host). */
const hostOf = (url: string): string | undefined => {
  try {
    return new URL(url).host.toLowerCase().replace(/\.(?=:|$)/, "")
  } catch {
    return undefined
  }
}

/**
 * An Alpaca account's settings: hosts (paper unless `live: true`; the live host is refused
 * without it, so nobody trades real money by accident), and credentials read from the
 * environment as redacted Config.
 */
export const alpacaConfig = (
  loaded: LoadedConfig,
  account: AccountConfig,
  broker: AlpacaBrokerConfig,
  fractional: boolean
) =>
  Effect.gen(function*() {
    const at = `accounts[${loaded.config.accounts.indexOf(account)}].broker`
    const live = broker.live === true
    const tradingUrl = broker.tradingUrl ??
      (live ? Alpaca.AlpacaDefaults.liveTradingUrl : Alpaca.AlpacaDefaults.tradingUrl)
    if (!live && hostOf(tradingUrl) === hostOf(Alpaca.AlpacaDefaults.liveTradingUrl)) {
      return yield* new InputFileError({
        file: loaded.file,
        detail: `${at}.tradingUrl: expected a paper host unless the account says live: true (real money), got ${
          JSON.stringify(tradingUrl)
        }`
      })
    }
    const config: Alpaca.AlpacaConfig = {
      tradingUrl,
      dataUrl: broker.dataUrl ?? Alpaca.AlpacaDefaults.dataUrl,
      streamUrl: broker.streamUrl ?? Alpaca.streamUrlFor(tradingUrl),
      feed: broker.feed ?? Alpaca.AlpacaDefaults.feed,
      keyId: yield* secretEnv(loaded, `${at}.keyIdEnv`, broker.keyIdEnv ?? AlpacaEnv.keyId, "the Alpaca API key id"),
      secretKey: yield* secretEnv(
        loaded,
        `${at}.secretKeyEnv`,
        broker.secretKeyEnv ?? AlpacaEnv.secretKey,
        "the Alpaca API secret key"
      ),
      fractional,
      ...(broker.requestsPerMinute === undefined ? {} : { requestsPerMinute: broker.requestsPerMinute })
    }
    const accountNumber = broker.accountNumberEnv === undefined
      ? []
      : [yield* secretEnv(loaded, `${at}.accountNumberEnv`, broker.accountNumberEnv, "the account number")]
    return { config, secrets: [config.keyId, config.secretKey, ...accountNumber] }
  })

/** Alpaca's own environment variable names, used when an account names none. */
export const AlpacaEnv = { keyId: "APCA_API_KEY_ID", secretKey: "APCA_API_SECRET_KEY" } as const

export interface BrokerChoice {
  readonly layer: Layer.Layer<Broker, Paper.PaperConfigError | SqlError, SqlClient.SqlClient | HttpClient.HttpClient>
  /** Values a recording must scrub wherever they appear. */
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
}

/** The account's broker: the paper broker, or Alpaca (paper or live). */
export const brokerLayer = (loaded: LoadedConfig, account: AccountConfig, options: { readonly fractional: boolean }) =>
  Effect.gen(function*() {
    const broker = account.broker
    if (broker.kind === "paper") {
      const paper: BrokerChoice = { layer: Paper.layer(paperConfig(loaded, account.name, broker)), secrets: [] }
      return paper
    }
    const alpaca = yield* alpacaConfig(loaded, account, broker, options.fractional)
    const choice: BrokerChoice = { layer: Alpaca.layer(alpaca.config), secrets: alpaca.secrets }
    return choice
  })

const webhookUrl = (loaded: LoadedConfig, index: number, variable: string) =>
  secretEnv(loaded, `notifiers[${index}].webhook.urlEnv`, variable, "the webhook URL")

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
