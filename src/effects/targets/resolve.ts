/**
 * Resolving an account's targets: from its sources (files, a signal service, blends of
 * strategies, a regime-selected strategy, momentum) to one set of weights, each with its
 * attribution, then its replacement set. All arithmetic is the kernel's; this module only
 * reads files and URLs and says where a problem is.
 *
 * Every failure is an InputFileError naming the source (a file, a URL, or keel.yaml and the
 * path in it) and the position; nothing is traded on unresolved targets.
 *
 * Two kinds of failure, kept apart because a blend treats them differently:
 * - the configuration is wrong (keel.yaml's values, a regime map, the replacement sets, an
 *   unset header variable): checked for the whole source tree before anything is loaded,
 *   unselected regime strategies included, and always fatal;
 * - a strategy's data could not be loaded (a missing or bad data file, an HTTP failure,
 *   missing or stale history): a blend fails, or with `onStrategyFailure: cash` keeps that
 *   strategy's share in cash with a warning (never all of them).
 * Data stays lazy: a regime's unselected strategies are checked, not loaded.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import type * as HttpClient from "effect/http/HttpClient"
import * as Result from "effect/Result"
import { type Decimal, ONE } from "../../kernel/decimal.ts"
import { InvalidInput } from "../../kernel/errors.ts"
import { join } from "../../kernel/input.ts"
import type { Targets } from "../../kernel/rebalance/targets.ts"
import { blend, NESTING, type OnStrategyFailure, validateShares } from "../../kernel/strategies/blend.ts"
import { type PriceHistory, validateHistory } from "../../kernel/strategies/history.ts"
import { type Momentum, momentum, type MomentumOptions, validateMomentum } from "../../kernel/strategies/momentum.ts"
import {
  readRegime,
  type RegimeOptions,
  type RegimeReading,
  strategyFor,
  validateRegimeMap,
  validateRegimeOptions
} from "../../kernel/strategies/regime.ts"
import {
  applyReplacements,
  type ReplacementSet,
  replacementSet,
  type Substitution,
  validateReplacements
} from "../../kernel/strategies/replacement.ts"
import {
  atMostPlaces,
  readWeights,
  scaledDownNote,
  scaleDownToOne,
  type WeightUnit
} from "../../kernel/strategies/weights.ts"
import { explain, InputFileError, readInput } from "../inputs.ts"
import { fetchTargets, headerValues, type HttpSource } from "./http.ts"

export type TargetsSource =
  | { readonly _tag: "file"; readonly file: string; readonly unit: WeightUnit; readonly normalize: boolean }
  | { readonly _tag: "http"; readonly http: HttpSource }
  | {
    readonly _tag: "blend"
    readonly strategies: ReadonlyArray<
      { readonly name: string; readonly share: string | number; readonly source: TargetsSource }
    >
    readonly onStrategyFailure: OnStrategyFailure
  }
  | {
    readonly _tag: "regime"
    readonly history: string
    readonly options: Partial<RegimeOptions>
    readonly strategies: Readonly<Record<string, TargetsSource>>
    /** Regime → strategy name, inline or in a YAML/JSON file. */
    readonly map: { readonly inline: unknown } | { readonly file: string }
  }
  | {
    readonly _tag: "momentum"
    readonly name: string
    readonly history: string
    readonly universe: ReadonlyArray<string>
    readonly options: Partial<MomentumOptions>
  }

export interface ResolveContext {
  /** `YYYY-MM-DD`: the day history must be fresh for (today, from the Clock). */
  readonly asOf: string
  /** keel.yaml, for problems in the config itself. */
  readonly configFile: string
  /** The source's path in keel.yaml, e.g. `accounts[0].targets`. */
  readonly at: string
  /** The account policy's `weightTolerance`: how far above 1 a targets file's weights may sum. */
  readonly weightTolerance: Decimal
  /**
   * History files read so far in this resolution (file → history), shared by the nested
   * sources so each file is read once and every strategy sees the same closes. Made by
   * `resolveTargets` when absent.
   */
  readonly histories?: Map<string, PriceHistory>
}

export interface Resolved {
  readonly targets: Targets
  /** Said on every run that uses these targets (a strategy left in cash, no momentum, a sum scaled down to 1). */
  readonly warnings: ReadonlyArray<string>
  /** Present when a regime chose the strategy. */
  readonly regime?: RegimeReading & { readonly strategy: string }
  readonly momentum?: ReadonlyArray<{ readonly name: string; readonly ranking: Momentum["ranking"] }>
  readonly substitutions: ReadonlyArray<Substitution>
}

/** The configuration is wrong: fatal wherever it happens, never a blended strategy's failure. */
class ConfigError extends Data.TaggedError("TargetsConfigError")<{ readonly error: InputFileError }> {}

const asConfig = (error: InputFileError): ConfigError => new ConfigError({ error })

type Env = FileSystem.FileSystem | HttpClient.HttpClient
type Source<Tag extends TargetsSource["_tag"]> = Extract<TargetsSource, { readonly _tag: Tag }>

/** `at` then a kernel path: `x` + `[1].name` is `x[1].name`, `x` + `share` is `x.share`, and a phrase (`sum of shares`) follows a colon. */
const within = (at: string, path: string): string =>
  path === "" ? at : path.startsWith("[") ? `${at}${path}` : path.includes(" ") ? `${at}: ${path}` : `${at}.${path}`

/** A kernel error about the config's own values, told against keel.yaml at `at`. */
const inConfig = (ctx: ResolveContext, e: InvalidInput): ConfigError =>
  asConfig(
    new InputFileError({
      file: ctx.configFile,
      detail: `${within(ctx.at, e.path)}: expected ${e.expected}, got ${e.value}`
    })
  )

/**
 * A kernel error from reading price history: about the history file (a symbol's missing or
 * stale closes, path the symbol; data), or about the config's options (`maxStaleDays`, checked
 * with the history, and anything from source `regime` or `strategies`).
 */
const historyError = (ctx: ResolveContext, file: string, at: string, e: InvalidInput): InputFileError | ConfigError =>
  e.source === "history" && e.path !== "maxStaleDays" && e.path !== "asOf"
    ? new InputFileError({
      file,
      detail: `${e.path === "" ? "" : `${e.path}: `}expected ${e.expected}, got ${e.value}`
    })
    : inConfig({ ...ctx, at }, e)

/**
 * A blend's share or name error: the kernel names a strategy's field by its name (`core.share`); keel.yaml has
 * them in a list (`[0].share`).
 */
const sharesError = (ctx: ResolveContext, source: Source<"blend">, e: InvalidInput): ConfigError => {
  // The longest name that fits, should one name be a prefix of another: `a` and `a.b`.
  let index = -1
  let prefix = ""
  source.strategies.forEach((s, i) => {
    const key = join("", s.name.trim())
    if (e.path.startsWith(`${key}.`) && key.length > prefix.length) [index, prefix] = [i, key]
  })
  const path = index < 0 ? e.path : `[${index}]${e.path.slice(prefix.length)}`
  return inConfig(
    { ...ctx, at: `${ctx.at}.blend.strategies` },
    new InvalidInput({ source: e.source, path, value: e.value, expected: e.expected })
  )
}

/** A momentum error: the kernel names option paths under the strategy (`NAME.top`); in keel.yaml they sit right under `momentum`. */
const momentumError = (
  ctx: ResolveContext,
  source: Source<"momentum">,
  e: InvalidInput
): InputFileError | ConfigError => {
  const prefix = join("", source.name)
  const path = e.source === "strategies" && (e.path.startsWith(`${prefix}.`) || e.path.startsWith(`${prefix}[`))
    ? e.path.slice(prefix.length).replace(/^\./, "")
    : e.path
  return historyError(
    ctx,
    source.history,
    `${ctx.at}.momentum`,
    new InvalidInput({ source: e.source, path, value: e.value, expected: e.expected })
  )
}

/** A regime's map (inline, or its file: configuration either way), checked against the regime's strategies. */
const regimeMap = (source: Source<"regime">, ctx: ResolveContext) =>
  Effect.gen(function*() {
    const names = Object.keys(source.strategies)
    if ("file" in source.map) {
      const input = yield* readInput("regime", source.map.file).pipe(Effect.mapError(asConfig))
      const map = validateRegimeMap(input.data, names)
      if (Result.isFailure(map)) return yield* asConfig(explain(input, map.failure))
      return { map: map.success, file: input.file }
    }
    const map = validateRegimeMap(source.map.inline, names)
    if (Result.isFailure(map)) return yield* inConfig({ ...ctx, at: `${ctx.at}.regime.map` }, map.failure)
    return { map: map.success, file: undefined }
  })

const strategyAt = (ctx: ResolveContext, name: string): string => join(`${ctx.at}.regime.strategies`, name)

/**
 * The whole source tree's configuration, before anything is loaded: a blend's names and
 * shares, regime options and maps, momentum options, header variables, down every branch
 * (a regime's unselected strategies too, so a broken one is found before trading).
 */
const checkSource = (
  source: TargetsSource,
  ctx: ResolveContext
): Effect.Effect<void, InputFileError | ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    switch (source._tag) {
      case "file":
        return
      case "http":
        yield* headerValues(source.http).pipe(Effect.mapError(asConfig))
        return
      case "blend": {
        const shares = validateShares(source.strategies)
        if (Result.isFailure(shares)) return yield* sharesError(ctx, source, shares.failure)
        yield* Effect.forEach(source.strategies, (s, i) =>
          checkSource(s.source, { ...ctx, at: `${ctx.at}.blend.strategies[${i}].source` }), { discard: true })
        return
      }
      case "regime": {
        const options = validateRegimeOptions(ctx.asOf, source.options)
        if (Result.isFailure(options)) {
          return yield* inConfig({ ...ctx, at: `${ctx.at}.regime` }, options.failure)
        }
        yield* regimeMap(source, ctx)
        yield* Effect.forEach(Object.entries(source.strategies), ([name, s]) =>
          checkSource(s, { ...ctx, at: strategyAt(ctx, name) }), { discard: true })
        return
      }
      case "momentum": {
        const checked = validateMomentum(
          { strategy: source.name, universe: source.universe, asOf: ctx.asOf },
          source.options
        )
        if (Result.isFailure(checked)) {
          return yield* momentumError(ctx, source, checked.failure)
        }
        return
      }
    }
  })

/** Each history file is read once per resolution, however many strategies use it. */
const readHistory = (ctx: ResolveContext, file: string) =>
  Effect.gen(function*() {
    const cache = ctx.histories ?? new Map<string, PriceHistory>()
    const cached = cache.get(file)
    if (cached !== undefined) return cached
    const input = yield* readInput("history", file)
    const history = validateHistory(input.data)
    if (Result.isFailure(history)) return yield* explain(input, history.failure)
    cache.set(file, history.success)
    return history.success
  })

/** One source to targets, summing to at most 1. Relative paths were resolved by the config reader. */
const resolveSource = (
  source: TargetsSource,
  ctx: ResolveContext
): Effect.Effect<Resolved, InputFileError | ConfigError, Env> =>
  Effect.gen(function*() {
    const plain = (targets: Targets, warnings: ReadonlyArray<string> = []): Resolved => ({
      targets,
      warnings,
      substitutions: []
    })
    switch (source._tag) {
      case "file": {
        const input = yield* readInput("targets", source.file)
        const read = readWeights("targets", input.data, {
          unit: source.unit,
          sum: source.normalize ? "normalize" : "partial",
          tolerance: ctx.weightTolerance
        })
        if (Result.isFailure(read)) return yield* explain(input, read.failure)
        return plain(
          read.success.targets,
          read.success.scaledDown
            ? [`${input.file}: ${scaledDownNote(read.success, source.unit, "the policy's weightTolerance")}`]
            : []
        )
      }
      case "http": {
        const fetched = yield* fetchTargets(source.http)
        return plain(fetched.targets, fetched.warnings)
      }
      case "blend":
        return yield* resolveBlend(source, ctx)
      case "regime": {
        const history = yield* readHistory(ctx, source.history)
        const reading = readRegime(history, ctx.asOf, source.options)
        if (Result.isFailure(reading)) {
          return yield* historyError(ctx, source.history, `${ctx.at}.regime`, reading.failure)
        }
        const { map, file } = yield* regimeMap(source, ctx)
        const chosen = strategyFor(map, reading.success.regime)
        if (Result.isFailure(chosen)) {
          return yield* asConfig(
            new InputFileError({
              file: file ?? ctx.configFile,
              detail: `${
                file === undefined ? `${ctx.at}.regime.map.` : ""
              }${reading.success.regime}: expected a strategy for the selected regime, got nothing`
            })
          )
        }
        const name = chosen.success
        const inner = yield* resolveSource(source.strategies[name]!, { ...ctx, at: strategyAt(ctx, name) })
        // The chosen strategy holds everything, so its weights are attributed to it.
        const attributed = blend([{ name, share: "1", targets: inner.targets }])
        if (Result.isFailure(attributed)) {
          return yield* inConfig(ctx, attributed.failure)
        }
        return { ...inner, targets: attributed.success.targets, regime: { ...reading.success, strategy: name } }
      }
      case "momentum": {
        const history = yield* readHistory(ctx, source.history)
        const result = momentum(
          { strategy: source.name, universe: source.universe, history, asOf: ctx.asOf },
          source.options
        )
        if (Result.isFailure(result)) {
          return yield* momentumError(ctx, source, result.failure)
        }
        return {
          targets: result.success.targets,
          warnings: result.success.warnings.map((w) => w.message),
          momentum: [{ name: source.name, ranking: result.success.ranking }],
          substitutions: []
        }
      }
    }
  })

/**
 * A blend: each strategy resolved, a data failure handed to the kernel as failed (which fails
 * the blend, or keeps its share in cash), a configuration error passed on as it is. Shares a
 * little above 1 could make the blend sum above 1: it is then scaled down to 1, with a warning.
 */
const resolveBlend = (source: Source<"blend">, ctx: ResolveContext) =>
  Effect.gen(function*() {
    const parts = yield* Effect.forEach(source.strategies, (s, i) =>
      resolveSource(s.source, { ...ctx, at: `${ctx.at}.blend.strategies[${i}].source` }).pipe(
        Effect.map((r) => ({ name: s.name, share: s.share, targets: r.targets, resolved: r })),
        Effect.catchTag("InputFileError", (e: InputFileError) =>
          Effect.succeed({ name: s.name, share: s.share, failed: e.message }))
      ))
    const blended = blend(parts, { onStrategyFailure: source.onStrategyFailure })
    if (Result.isFailure(blended)) {
      const e = blended.failure
      const failures = parts.flatMap((p) => ("failed" in p ? [`strategy ${p.name} failed: ${p.failed}`] : []))
      // Every strategy failed (`cash` mode): as much a data failure as one strategy failing in `fail` mode.
      if (e.path === "" && failures.length === parts.length) {
        return yield* new InputFileError({
          file: ctx.configFile,
          detail: `${ctx.at}.blend: expected ${e.expected}, got none: ${failures.join("; ")}`
        })
      }
      // A failed strategy (`fail` mode): its own error already names the file or URL.
      const failed = parts.find((p) =>
        "failed" in p && join("", p.name.trim()) === e.path
      )
      if (failed !== undefined && "failed" in failed) {
        return yield* new InputFileError({
          file: ctx.configFile,
          detail: `${ctx.at}.blend: strategy ${failed.name} failed: ${failed.failed}`
        })
      }
      return yield* sharesError(ctx, source, e)
    }
    const inner = parts.flatMap((p) => ("resolved" in p ? [p.resolved] : []))
    const momenta = inner.flatMap((r) =>
      r.momentum ?? []
    )
    // A regime chosen inside the blend (the first, if several): its strategy named as in the attribution, `outer/inner`.
    const regimes = parts.flatMap((p) =>
      "resolved" in p && p.resolved.regime !== undefined
        ? [{ ...p.resolved.regime, strategy: `${p.name.trim()}${NESTING}${p.resolved.regime.strategy}` }]
        : []
    )
    const combined = blended.success.targets
    const over = combined.total.gt(ONE)
    return {
      targets: over ? scaleDownToOne(combined) : combined,
      warnings: [
        ...inner.flatMap((r) => r.warnings),
        ...blended.success.warnings.map((w) => w.message),
        ...(over
          ? [
            `${ctx.configFile}: ${ctx.at}.blend: blended weights sum to ${combined.total.toFixed()}, above 1 ` +
            `(shares summing above 1): scaled down to sum to 1`
          ]
          : [])
      ],
      ...(regimes[0] === undefined ? {} : { regime: regimes[0] }),
      ...(momenta.length === 0 ? {} : { momentum: momenta }),
      substitutions: []
    } satisfies Resolved
  })

export interface Replacements {
  readonly file: string
  readonly set: string
}

/** The replacement set the account names: configuration, read before any source. */
const readReplacementSet = (replacements: Replacements) =>
  Effect.gen(function*() {
    const input = yield* readInput("replacements", replacements.file).pipe(Effect.mapError(asConfig))
    const sets = validateReplacements(input.data)
    if (Result.isFailure(sets)) return yield* asConfig(explain(input, sets.failure))
    const set = replacementSet(sets.success, replacements.set)
    if (Result.isFailure(set)) return yield* asConfig(explain(input, set.failure))
    return set.success
  })

/**
 * The account's targets: the whole configuration checked first (its source tree and the
 * replacement set), then the source resolved, its replacement set applied, and at most the
 * places a targets file may hold. The weights sum to at most 1.
 */
export const resolveTargets = (
  source: TargetsSource,
  replacements: Replacements | undefined,
  context: ResolveContext
): Effect.Effect<Resolved, InputFileError, Env> =>
  Effect.gen(function*() {
    const ctx: ResolveContext = context.histories === undefined ? { ...context, histories: new Map() } : context
    yield* checkSource(source, ctx)
    const set: ReplacementSet | undefined = replacements === undefined
      ? undefined
      : yield* readReplacementSet(replacements)
    const resolved = yield* resolveSource(source, ctx)
    const replaced = set === undefined
      ? { targets: resolved.targets, substitutions: [] }
      : applyReplacements(resolved.targets, set)
    return { ...resolved, targets: atMostPlaces(replaced.targets), substitutions: replaced.substitutions }
  }).pipe(Effect.catchTag("TargetsConfigError", (e: ConfigError) => Effect.fail(e.error)))
