/**
 * keel.yaml: the accounts Keel manages, where runs are stored, who is notified, and how
 * long to wait. Decoded with Schema; an error names the file, the path inside it and what
 * was expected. Input files named in it (targets, policy, quotes) are relative to the file;
 * the store and the artifacts folder are relative to the working directory. Secrets never
 * live here: the file names environment variables, read as redacted Config.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { BrokerConfig } from "../effects/broker/registry.ts"
import { EnvName, knownFields, PositiveSeconds } from "../effects/configFields.ts"
import { decodeShape, InputFileError, readText } from "../effects/inputs.ts"
import { Config as NotificationsConfig } from "../effects/notifier/config.ts"
import { OnOpenOrders, OnOutsideOrders } from "../effects/Store.ts"
import { show } from "../kernel/errors.ts"
import { GuardsConfig } from "./guardsConfig.ts"
import type { LeaseSettings } from "./run/lease.ts"
import { SchedulesConfig, ServeConfig } from "./serve/config.ts"
import * as TargetsConfig from "./targetsConfig.ts"

const Account = knownFields(
  "an account field",
  Schema.Struct({
    name: Schema.NonEmptyString,
    /** The venue and its settings: `kind` names one of the registry's venues (effects/broker/registry.ts). */
    broker: BrokerConfig,
    /** A targets file (JSON, YAML or CSV), or a source: file, http, blend, regime, momentum (see targetsConfig.ts). */
    targets: TargetsConfig.Source,
    /** A replacement set applied to the resolved targets: `{ file, set }`. */
    replacements: Schema.optionalKey(TargetsConfig.Replacements),
    /** Policy file, or the policy inline. */
    policy: Schema.optionalKey(Schema.Union([Schema.String, Schema.Record(Schema.String, Schema.Unknown)])),
    /** Open orders from an earlier run: cancel them (default) or abort the run. */
    openOrders: Schema.optionalKey(OnOpenOrders),
    outsideOrders: Schema.optionalKey(OnOutsideOrders),
    /** This account's guards, field by field over the top level's. */
    guards: Schema.optionalKey(GuardsConfig)
  })
)

const Notifier = Schema.Union([
  Schema.Literal("console"),
  Schema.Struct({
    webhook: knownFields(
      "a webhook field",
      Schema.Struct({
        /** Environment variable holding the URL (it usually embeds a token). */
        urlEnv: EnvName,
        timeoutSeconds: Schema.optionalKey(PositiveSeconds)
      })
    )
  })
])

/** The most accounts one process rebalances at once (each holds a broker connection and a lease). */
const MAX_CONCURRENCY = 64

/** How many accounts a fleet run rebalances at once. */
const Concurrency = Schema.Number.check(
  Schema.makeFilter((n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_CONCURRENCY, {
    expected: `a whole number from 1 to ${MAX_CONCURRENCY}`
  })
)

/** Named sets of accounts, for `run --group NAME`: each a list of account names. */
const Groups = Schema.Record(Schema.NonEmptyString, Schema.NonEmptyArray(Schema.NonEmptyString))

const KeelConfig = knownFields(
  "a config field",
  Schema.Struct({
    store: Schema.optionalKey(
      knownFields("a store field", Schema.Struct({ sqlite: Schema.optionalKey(Schema.String) }))
    ),
    artifacts: Schema.optionalKey(Schema.String),
    /** The short form: the console, and webhooks that hear every run (see layers.ts `notificationsOf`). */
    notifiers: Schema.optionalKey(Schema.Array(Notifier)),
    notifications: Schema.optionalKey(NotificationsConfig),
    timeouts: Schema.optionalKey(
      knownFields(
        "a timeouts field",
        Schema.Struct({
          fillSeconds: Schema.optionalKey(PositiveSeconds),
          pollSeconds: Schema.optionalKey(PositiveSeconds),
          leaseSeconds: Schema.optionalKey(PositiveSeconds)
        })
      )
    ),
    fleet: Schema.optionalKey(
      knownFields("a fleet field", Schema.Struct({ concurrency: Schema.optionalKey(Concurrency) }))
    ),
    groups: Schema.optionalKey(Groups),
    /** Every account's guards (see guardsConfig.ts). */
    guards: Schema.optionalKey(GuardsConfig),
    /** `rebalance serve`: its address, tokens, triggers and shutdown (see serve/config.ts). */
    serve: Schema.optionalKey(ServeConfig),
    /** Fleet runs `rebalance serve` starts on cron schedules. */
    schedules: Schema.optionalKey(SchedulesConfig),
    accounts: Schema.NonEmptyArray(Account)
  })
)

export type KeelConfig = typeof KeelConfig.Type
export type AccountConfig = typeof Account.Type

/** Defaults, in one place and documented in the README. */
export const ConfigDefaults = {
  /** The config file, in the working directory. */
  file: "keel.yaml",
  sqlite: ".keel/keel.db",
  artifacts: "artifacts",
  fillSeconds: 60,
  pollSeconds: 5,
  /** An account lease lives this long without a heartbeat (a run renews it every third of it). */
  leaseSeconds: 30,
  webhookTimeoutSeconds: 10,
  /** Accounts a fleet run rebalances at once. */
  fleetConcurrency: 4
} as const

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
    const text = yield* readText(file, () => "cannot read the config file (use --config FILE)")
    const parsed = file.endsWith(".json")
      ? (yield* Effect.promise(() => import("../formats/json.ts"))).parseJson(text)
      : (yield* Effect.promise(() => import("../formats/yaml.ts"))).parseYaml(text)
    if (Result.isFailure(parsed)) return yield* fail(parsed.failure)
    const decoded = decodeShape(KeelConfig as Schema.Codec<KeelConfig, unknown>, parsed.success)
    if (Result.isFailure(decoded)) return yield* fail(decoded.failure)
    const names = new Set<string>()
    for (const [i, account] of decoded.success.accounts.entries()) {
      if (names.has(account.name)) {
        return yield* fail(`accounts[${i}].name: expected a unique account name, got "${account.name}"`)
      }
      names.add(account.name)
    }
    const unknownMember = groupProblem(decoded.success, names)
    if (unknownMember !== undefined) return yield* fail(unknownMember)
    const artifacts = decoded.success.artifacts ?? ConfigDefaults.artifacts
    if (!(yield* canBeFolder(fs, path, artifacts))) {
      return yield* fail(`artifacts: expected a folder, got ${show(artifacts)}, which is a file or inside one`)
    }
    return { file, dir: path.dirname(path.resolve(file)), config: decoded.success } satisfies LoadedConfig
  })

/** A group that names an account the file does not have, or one account twice: what to say; undefined when none does. */
const groupProblem = (config: KeelConfig, names: ReadonlySet<string>): string | undefined => {
  for (const [group, members] of Object.entries(config.groups ?? {})) {
    const seen = new Set<string>()
    for (const [i, member] of members.entries()) {
      if (!names.has(member)) return `groups.${group}[${i}]: expected the name of an account, got ${show(member)}`
      if (seen.has(member)) return `groups.${group}[${i}]: expected each account once, got ${show(member)} twice`
      seen.add(member)
    }
  }
  return undefined
}

/**
 * Whether `folder` is a folder or can be made one: its nearest existing ancestor is a folder. A run
 * writes its artifacts last, so a path that cannot be one is refused before anything starts.
 */
const canBeFolder = (fs: FileSystem.FileSystem, path: Path.Path, folder: string): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    let at = path.resolve(folder)
    for (;;) {
      const info = yield* Effect.option(fs.stat(at))
      if (info._tag === "Some") return info.value.type === "Directory"
      const parent = path.dirname(at)
      if (parent === at) return true
      at = parent
    }
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

/** Where runs write their artifacts (relative to the working directory). */
export const artifactsRoot = (loaded: LoadedConfig): string => loaded.config.artifacts ?? ConfigDefaults.artifacts

/** The account lease of a run of this config: its life from `timeouts.leaseSeconds`, and how long to wait for a held one. */
export const leaseSettings = (loaded: LoadedConfig, waitSeconds: number): LeaseSettings => ({
  ttl: Duration.seconds(loaded.config.timeouts?.leaseSeconds ?? ConfigDefaults.leaseSeconds),
  wait: Duration.seconds(waitSeconds)
})

/** How long a run waits for each phase's orders (and for cancels to be confirmed), and how often it polls them. */
export const runTimeouts = (loaded: LoadedConfig) => ({
  fillTimeout: Duration.seconds(loaded.config.timeouts?.fillSeconds ?? ConfigDefaults.fillSeconds),
  pollInterval: Duration.seconds(loaded.config.timeouts?.pollSeconds ?? ConfigDefaults.pollSeconds)
})
