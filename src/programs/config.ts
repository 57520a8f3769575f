/**
 * keel.yaml: the accounts Keel manages, where runs are stored, who is notified, and how
 * long to wait. Decoded with Schema; an error names the file, the path inside it and what
 * was expected. Input files named in it (targets, policy, quotes) are relative to the file;
 * the store and the artifacts folder are relative to the working directory. Secrets never
 * live here: the file names environment variables, read as redacted Config.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { decodeShape, InputFileError } from "../effects/inputs.ts"
import { OnOpenOrders } from "../effects/Store.ts"
import * as TargetsConfig from "./targetsConfig.ts"
import { HttpUrl, WebSocketUrl } from "./urls.ts"

const Amount = Schema.Union([Schema.String, Schema.Number])

const RandomWalk = Schema.Struct({
  seed: Schema.Number,
  prices: Schema.Record(Schema.String, Amount),
  volatilityBps: Schema.optionalKey(Schema.Number)
})

const PaperBroker = Schema.Struct({
  kind: Schema.Literal("paper"),
  /** Cash of a new paper account (default 100000); an existing account keeps its own. */
  startingCash: Schema.optionalKey(Amount),
  /** Quotes file (JSON or CSV `symbol,bid,ask,last`). */
  quotes: Schema.optionalKey(Schema.String),
  /** Or a seeded random walk from these prices. */
  randomWalk: Schema.optionalKey(RandomWalk),
  slippageBps: Schema.optionalKey(Schema.Number),
  commissionPerOrder: Schema.optionalKey(Amount),
  commissionPerShare: Schema.optionalKey(Amount),
  fillLatencySeconds: Schema.optionalKey(Schema.Number),
  partialFills: Schema.optionalKey(Schema.Number),
  rejectionRate: Schema.optionalKey(Schema.Number),
  rejectionSeed: Schema.optionalKey(Schema.Number),
  marketOpen: Schema.optionalKey(Schema.Literals(["always", "never"]))
})

const PositiveWholeNumber = Schema.Number.check(
  Schema.makeFilter((n: number) => Number.isSafeInteger(n) && n >= 1, { expected: "a whole number of at least 1" })
)

/**
 * An Alpaca account (paper by default). Credentials are never in this file: it names the
 * environment variables that hold them (default APCA_API_KEY_ID / APCA_API_SECRET_KEY).
 */
const AlpacaBroker = Schema.Struct({
  kind: Schema.Literal("alpaca"),
  /** Real money. Required (true) for the live trading host; without it only the paper host is allowed. */
  live: Schema.optionalKey(Schema.Boolean),
  tradingUrl: Schema.optionalKey(HttpUrl),
  dataUrl: Schema.optionalKey(HttpUrl),
  streamUrl: Schema.optionalKey(WebSocketUrl),
  feed: Schema.optionalKey(Schema.Literals(["iex", "sip"])),
  keyIdEnv: Schema.optionalKey(Schema.NonEmptyString),
  secretKeyEnv: Schema.optionalKey(Schema.NonEmptyString),
  /** An environment variable holding the account number, so recordings scrub it wherever it appears. */
  accountNumberEnv: Schema.optionalKey(Schema.NonEmptyString),
  /** Per API host (trading, market data); default 200. */
  requestsPerMinute: Schema.optionalKey(PositiveWholeNumber)
})

const Account = Schema.Struct({
  name: Schema.NonEmptyString,
  broker: Schema.Union([PaperBroker, AlpacaBroker]),
  /** A targets file (JSON, YAML or CSV), or a source: file, http, blend, regime, momentum (see targetsConfig.ts). */
  targets: TargetsConfig.Source,
  /** A replacement set applied to the resolved targets: `{ file, set }`. */
  replacements: Schema.optionalKey(TargetsConfig.Replacements),
  /** Policy file, or the policy inline. */
  policy: Schema.optionalKey(Schema.Union([Schema.String, Schema.Record(Schema.String, Schema.Unknown)])),
  /** Open orders from an earlier run: cancel them (default) or abort the run. */
  openOrders: Schema.optionalKey(OnOpenOrders)
})

const WebhookFields = Schema.Struct({
  /** Environment variable holding the URL (it usually embeds a token). */
  urlEnv: Schema.NonEmptyString,
  timeoutSeconds: Schema.optionalKey(Schema.Number)
})

const Notifier = Schema.Union([
  Schema.Literal("console"),
  Schema.Struct({ webhook: WebhookFields })
])

const KeelConfig = Schema.Struct({
  store: Schema.optionalKey(Schema.Struct({ sqlite: Schema.optionalKey(Schema.String) })),
  artifacts: Schema.optionalKey(Schema.String),
  notifiers: Schema.optionalKey(Schema.Array(Notifier)),
  timeouts: Schema.optionalKey(
    Schema.Struct({
      fillSeconds: Schema.optionalKey(Schema.Number),
      pollSeconds: Schema.optionalKey(Schema.Number)
    })
  ),
  accounts: Schema.NonEmptyArray(Account)
})

export type KeelConfig = typeof KeelConfig.Type
export type AccountConfig = typeof Account.Type
export type PaperBrokerConfig = typeof PaperBroker.Type
export type AlpacaBrokerConfig = typeof AlpacaBroker.Type
export type NotifierConfig = typeof Notifier.Type

/** Defaults, in one place and documented in the README. */
export const ConfigDefaults = {
  sqlite: ".keel/keel.db",
  artifacts: "artifacts",
  fillSeconds: 60,
  pollSeconds: 5,
  startingCash: "100000",
  webhookTimeoutSeconds: 10
} as const

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** An unknown key at one level, named by itself with the fields that level knows (a typo must not pass). */
const unknownKey = (data: unknown, fields: object, path: string, label: string): string | undefined => {
  if (!isRecord(data)) return undefined
  const key = Object.keys(data).find((k) => !Object.hasOwn(fields, k))
  return key === undefined
    ? undefined
    : `${path === "" ? "" : `${path}.`}${key}: expected ${label} (${Object.keys(fields).join(", ")}), got ${
      JSON.stringify(key)
    }`
}

/** Checks every level's keys before the Schema checks the values, so a misspelt field is named. */
const unknownField = (data: unknown): string | undefined => {
  const top = unknownKey(data, KeelConfig.fields, "", "a config field")
  if (top !== undefined || !isRecord(data)) return top
  const found = unknownKey(data["store"], KeelConfig.fields.store.schema.fields, "store", "a store field") ??
    unknownKey(data["timeouts"], KeelConfig.fields.timeouts.schema.fields, "timeouts", "a timeouts field")
  if (found !== undefined) return found
  const notifiers = Array.isArray(data["notifiers"]) ? (data["notifiers"] as ReadonlyArray<unknown>) : []
  for (const [i, notifier] of notifiers.entries()) {
    const webhook = isRecord(notifier) ? notifier["webhook"] : undefined
    const problem = unknownKey(webhook, WebhookFields.fields, `notifiers[${i}].webhook`, "a webhook field")
    if (problem !== undefined) return problem
  }
  const accounts = Array.isArray(data["accounts"]) ? (data["accounts"] as ReadonlyArray<unknown>) : []
  for (const [i, account] of accounts.entries()) {
    const at = `accounts[${i}]`
    const broker = isRecord(account) ? account["broker"] : undefined
    const alpaca = isRecord(broker) && broker["kind"] === "alpaca"
    if (isRecord(broker) && broker["kind"] !== "paper" && !alpaca) {
      return `${at}.broker.kind: expected "paper" or "alpaca", got ${JSON.stringify(broker["kind"] ?? null)}`
    }
    const problem = unknownKey(account, Account.fields, at, "an account field") ??
      (alpaca
        ? unknownKey(broker, AlpacaBroker.fields, `${at}.broker`, "an alpaca broker field")
        : unknownKey(broker, PaperBroker.fields, `${at}.broker`, "a paper broker field")) ??
      unknownKey(
        isRecord(broker) ? broker["randomWalk"] : undefined,
        RandomWalk.fields,
        `${at}.broker.randomWalk`,
        "a random walk field"
      )
    if (problem !== undefined) return problem
  }
  return undefined
}

export interface LoadedConfig {
  readonly file: string
  /** The folder of the file: relative paths inside it are resolved against it. */
  readonly dir: string
  readonly config: KeelConfig
}

/** Reads and decodes keel.yaml (or .json); every failure is an InputFileError naming the file. */
export const loadConfig = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const fail = (detail: string) => new InputFileError({ file, detail })
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError(() => fail("cannot read the config file (use --config FILE)"))
    )
    const parsed = file.endsWith(".json")
      ? (yield* Effect.promise(() => import("../formats/json.ts"))).parseJson(text)
      : (yield* Effect.promise(() => import("../formats/yaml.ts"))).parseYaml(text)
    if (Result.isFailure(parsed)) return yield* fail(parsed.failure)
    const unknown = unknownField(parsed.success)
    if (unknown !== undefined) return yield* fail(unknown)
    const decoded = decodeShape(KeelConfig as Schema.Codec<KeelConfig, unknown>, parsed.success)
    if (Result.isFailure(decoded)) return yield* fail(decoded.failure)
    const names = new Set<string>()
    for (const [i, account] of decoded.success.accounts.entries()) {
      if (names.has(account.name)) {
        return yield* fail(`accounts[${i}].name: expected a unique account name, got "${account.name}"`)
      }
      names.add(account.name)
    }
    return { file, dir: path.dirname(path.resolve(file)), config: decoded.success } satisfies LoadedConfig
  })

export const findAccount = (loaded: LoadedConfig, name: string): Effect.Effect<AccountConfig, InputFileError> => {
  const account = loaded.config.accounts.find((a) => a.name === name)
  return account === undefined
    ? Effect.fail(
      new InputFileError({
        file: loaded.file,
        detail: `accounts: expected an account named "${name}" (known: ${
          loaded.config.accounts.map((a) => a.name).join(", ")
        })`
      })
    )
    : Effect.succeed(account)
}
