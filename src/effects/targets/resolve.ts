/**
 * Resolving an account's targets: from its sources (files, a signal service, blends of
 * strategies, a regime-selected strategy, momentum) to one set of weights, each with its
 * attribution, then its replacement set. All arithmetic is the kernel's; this module only
 * reads files and URLs and says where a problem is.
 *
 * Every failure is an InputFileError naming the source (a file, a URL, or keel.yaml and the
 * path in it) and the position; nothing is traded on unresolved targets. A strategy of a
 * blend that fails is handed to the kernel as failed, which fails the blend or (with
 * `onStrategyFailure: cash`) keeps its share in cash with a warning.
 */
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Result from "effect/Result"
import type * as HttpClient from "effect/http/HttpClient"
import { blend, NESTING, type OnStrategyFailure } from "../../kernel/blend.ts"
import { InvalidInput } from "../../kernel/errors.ts"
import { join } from "../../kernel/input.ts"
import { type PriceHistory, validateHistory } from "../../kernel/history.ts"
import { type Momentum, momentum, type MomentumOptions } from "../../kernel/momentum.ts"
import { readRegime, type RegimeOptions, type RegimeReading, strategyFor, validateRegimeMap } from "../../kernel/regime.ts"
import { applyReplacementSet, type Substitution, validateReplacements } from "../../kernel/replacement.ts"
import type { Targets } from "../../kernel/targets.ts"
import { atMostPlaces, readWeights, type WeightUnit } from "../../kernel/weights.ts"
import { explain, InputFileError, readInput } from "../inputs.ts"
import { fetchTargets, type HttpSource } from "./http.ts"

export type TargetsSource =
  | { readonly _tag: "file"; readonly file: string; readonly unit: WeightUnit; readonly normalize: boolean }
  | { readonly _tag: "http"; readonly http: HttpSource }
  | {
      readonly _tag: "blend"
      readonly strategies: ReadonlyArray<{ readonly name: string; readonly share: string | number; readonly source: TargetsSource }>
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
  /**
   * History files read so far in this resolution (file → history), shared by the nested
   * sources so each file is read once and every strategy sees the same closes. Made by
   * `resolveSource` when absent.
   */
  readonly histories?: Map<string, PriceHistory>
}

export interface Resolved {
  readonly targets: Targets
  /** Said on every run that uses these targets (a strategy left in cash, no momentum). */
  readonly warnings: ReadonlyArray<string>
  /** Present when a regime chose the strategy. */
  readonly regime?: RegimeReading & { readonly strategy: string }
  readonly momentum?: ReadonlyArray<{ readonly name: string; readonly ranking: Momentum["ranking"] }>
  readonly substitutions: ReadonlyArray<Substitution>
}

type Env = FileSystem.FileSystem | HttpClient.HttpClient

/** `at` then a kernel path: `x` + `[1].name` is `x[1].name`, `x` + `share` is `x.share`, and a phrase (`sum of shares`) follows a colon. */
const within = (at: string, path: string): string =>
  path === "" ? at : path.startsWith("[") ? `${at}${path}` : path.includes(" ") ? `${at}: ${path}` : `${at}.${path}`

/** A kernel error about the config's own values, told against keel.yaml at `at`. */
const inConfig = (ctx: ResolveContext, e: InvalidInput) =>
  new InputFileError({ file: ctx.configFile, detail: `${within(ctx.at, e.path)}: expected ${e.expected}, got ${e.value}` })

/**
 * A kernel error from reading price history: about the history file (a symbol's missing or
 * stale closes, path the symbol), or about the config's options (`maxStaleDays`, checked
 * with the history, and anything from source `regime` or `strategies`).
 */
const historyError = (ctx: ResolveContext, file: string, at: string, e: InvalidInput) =>
  e.source === "history" && e.path !== "maxStaleDays" && e.path !== "asOf"
    ? new InputFileError({ file, detail: `${e.path === "" ? "" : `${e.path}: `}expected ${e.expected}, got ${e.value}` })
    : inConfig({ ...ctx, at }, e)

/** Each history file is read once per resolution, however many strategies use it. */
const readHistory = (ctx: ResolveContext, file: string) =>
  Effect.gen(function* () {
    const cache = ctx.histories ?? new Map<string, PriceHistory>()
    const cached = cache.get(file)
    if (cached !== undefined) return cached
    const input = yield* readInput("history", file)
    const history = validateHistory(input.data)
    if (Result.isFailure(history)) return yield* explain(input, history.failure)
    cache.set(file, history.success)
    return history.success
  })

/** One source to targets. Relative paths were resolved by the config reader. */
export const resolveSource = (source: TargetsSource, context: ResolveContext): Effect.Effect<Resolved, InputFileError, Env> =>
  Effect.gen(function* () {
    // Nested sources get `{ ...ctx, at }`, so they share this resolution's history cache.
    const ctx: ResolveContext = context.histories === undefined ? { ...context, histories: new Map() } : context
    const plain = (targets: Targets): Resolved => ({ targets, warnings: [], substitutions: [] })
    switch (source._tag) {
      case "file": {
        const input = yield* readInput("targets", source.file)
        const targets = readWeights("targets", input.data, { unit: source.unit, normalize: source.normalize })
        if (Result.isFailure(targets)) return yield* explain(input, targets.failure)
        return plain(targets.success)
      }
      case "http":
        return plain(yield* fetchTargets(source.http))
      case "blend": {
        const parts = yield* Effect.forEach(source.strategies, (s, i) =>
          resolveSource(s.source, { ...ctx, at: `${ctx.at}.blend.strategies[${i}].source` }).pipe(
            Effect.map((r) => ({ name: s.name, share: s.share, targets: r.targets, resolved: r })),
            Effect.catchTag("InputFileError", (e: InputFileError) => Effect.succeed({ name: s.name, share: s.share, failed: e.message }))
          )
        )
        const blended = blend(parts, { onStrategyFailure: source.onStrategyFailure })
        if (Result.isFailure(blended)) {
          const e = blended.failure
          // A failed strategy (`fail` mode): its own error already names the file or URL.
          const failed = parts.find((p) => "failed" in p && join("", p.name.trim()) === e.path)
          if (failed !== undefined && "failed" in failed) {
            return yield* new InputFileError({ file: ctx.configFile, detail: `${ctx.at}.blend: strategy ${failed.name} failed: ${failed.failed}` })
          }
          // The kernel names a strategy's field by its name (`core.share`); keel.yaml has them in a list (`[0].share`).
          // (The longest name that fits, should one name be a prefix of another: `a` and `a.b`.)
          let index = -1
          let prefix = ""
          source.strategies.forEach((s, i) => {
            const key = join("", s.name.trim())
            if (e.path.startsWith(`${key}.`) && key.length > prefix.length) [index, prefix] = [i, key]
          })
          const path = index < 0 ? e.path : `[${index}]${e.path.slice(prefix.length)}`
          return yield* inConfig({ ...ctx, at: `${ctx.at}.blend.strategies` }, new InvalidInput({ source: e.source, path, value: e.value, expected: e.expected }))
        }
        const inner = parts.flatMap((p) => ("resolved" in p ? [p.resolved] : []))
        const momenta = inner.flatMap((r) => r.momentum ?? [])
        // A regime chosen inside the blend (the first, if several): its strategy named as in the attribution, `outer/inner`.
        const regimes = parts.flatMap((p) =>
          "resolved" in p && p.resolved.regime !== undefined ? [{ ...p.resolved.regime, strategy: `${p.name.trim()}${NESTING}${p.resolved.regime.strategy}` }] : []
        )
        return {
          targets: blended.success.targets,
          warnings: [...inner.flatMap((r) => r.warnings), ...blended.success.warnings.map((w) => w.message)],
          ...(regimes[0] === undefined ? {} : { regime: regimes[0] }),
          ...(momenta.length === 0 ? {} : { momentum: momenta }),
          substitutions: []
        }
      }
      case "regime": {
        const history = yield* readHistory(ctx, source.history)
        const reading = readRegime(history, ctx.asOf, source.options)
        if (Result.isFailure(reading)) return yield* historyError(ctx, source.history, `${ctx.at}.regime`, reading.failure)
        const names = Object.keys(source.strategies)
        const mapInput = "file" in source.map ? yield* readInput("regime", source.map.file) : undefined
        const map = validateRegimeMap(mapInput === undefined ? (source.map as { inline: unknown }).inline : mapInput.data, names)
        if (Result.isFailure(map)) return yield* mapInput === undefined ? inConfig({ ...ctx, at: `${ctx.at}.regime.map` }, map.failure) : explain(mapInput, map.failure)
        const chosen = strategyFor(map.success, reading.success.regime)
        if (Result.isFailure(chosen)) {
          return yield* new InputFileError({
            file: mapInput?.file ?? ctx.configFile,
            detail: `${mapInput === undefined ? `${ctx.at}.regime.map.` : ""}${reading.success.regime}: expected a strategy for the selected regime, got nothing`
          })
        }
        const name = chosen.success
        const inner = yield* resolveSource(source.strategies[name]!, { ...ctx, at: `${ctx.at}.regime.strategies.${name}` })
        // The chosen strategy holds everything, so its weights are attributed to it.
        const attributed = blend([{ name, share: "1", targets: inner.targets }])
        if (Result.isFailure(attributed)) return yield* inConfig(ctx, attributed.failure)
        return { ...inner, targets: attributed.success.targets, regime: { ...reading.success, strategy: name } }
      }
      case "momentum": {
        const history = yield* readHistory(ctx, source.history)
        const result = momentum({ strategy: source.name, universe: source.universe, history, asOf: ctx.asOf }, source.options)
        if (Result.isFailure(result)) {
          const e = result.failure
          // The kernel names option paths under the strategy (`NAME.top`); in keel.yaml they sit right under `momentum`.
          const prefix = join("", source.name)
          const path = e.source === "strategies" && (e.path.startsWith(`${prefix}.`) || e.path.startsWith(`${prefix}[`)) ? e.path.slice(prefix.length).replace(/^\./, "") : e.path
          return yield* historyError(ctx, source.history, `${ctx.at}.momentum`, new InvalidInput({ source: e.source, path, value: e.value, expected: e.expected }))
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

export interface Replacements {
  readonly file: string
  readonly set: string
}

/** The account's targets: its source, its replacement set, and at most the places a targets file may hold. */
export const resolveTargets = (
  source: TargetsSource,
  replacements: Replacements | undefined,
  ctx: ResolveContext
): Effect.Effect<Resolved, InputFileError, Env> =>
  Effect.gen(function* () {
    const resolved = yield* resolveSource(source, ctx)
    let targets = resolved.targets
    let substitutions: ReadonlyArray<Substitution> = []
    if (replacements !== undefined) {
      const input = yield* readInput("replacements", replacements.file)
      const sets = validateReplacements(input.data)
      if (Result.isFailure(sets)) return yield* explain(input, sets.failure)
      const replaced = applyReplacementSet(targets, sets.success, replacements.set)
      if (Result.isFailure(replaced)) return yield* explain(input, replaced.failure)
      targets = replaced.success.targets
      substitutions = replaced.success.substitutions
    }
    return { ...resolved, targets: atMostPlaces(targets), substitutions }
  })
