/**
 * The `targets:` block of an account in keel.yaml: where the weights come from. A plain
 * string is a targets file (as before); otherwise exactly one of `file`, `http`, `blend`,
 * `regime` or `momentum`, nesting freely (a blend of a regime of momentum…). Paths are
 * relative to keel.yaml; secrets are environment variable names, never values.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { EnvName, HttpUrl, knownFields } from "../effects/configFields.ts"
import { HttpSourceDefaults } from "../effects/targets/http.ts"
import type { TargetsSource } from "../effects/targets/resolve.ts"
import { DecimalFromInput, DecimalInput, readsAsDecimal } from "../formats/decimal.ts"
import { isNegative, ONE } from "../kernel/decimal.ts"
import { OnStrategyFailure } from "../kernel/strategies/blend.ts"
import { MomentumWeighting } from "../kernel/strategies/momentum.ts"
import { WeightUnit } from "../kernel/strategies/weights.ts"

/** A decimal written as a string or a number, checked here so a typo is named, never defaulted. */
const CheckedDecimal = DecimalInput.check(readsAsDecimal({ expected: "a decimal" }))
const Unit = Schema.optionalKey(WeightUnit)

/** A field that must be there. */
const required = <S extends Schema.Top>(schema: S): S["Rebuild"] =>
  schema.pipe(Schema.annotateKey({ messageMissingKey: "a value (required)" }))

/**
 * A file of one kind, by its extension (what the reader will parse it as): a wrong kind is a
 * mistake in keel.yaml, so it is found when keel.yaml is read, not when the file is loaded.
 */
const FileOf = (kind: string, endings: ReadonlyArray<string>) =>
  Schema.NonEmptyString.check(
    Schema.makeFilter((v: string) => endings.some((e) => v.toLowerCase().endsWith(e)), {
      expected: `a ${kind} file ending in ${
        endings.length === 1 ? endings.join("") : `${endings.slice(0, -1).join(", ")} or ${endings.at(-1) ?? ""}`
      }`
    })
  )
const TargetsFile = FileOf("targets", [".json", ".yaml", ".yml", ".csv"])
const HistoryFile = FileOf("history", [".csv"])
const MapFile = FileOf("regime map", [".json", ".yaml", ".yml"])

const FileSource = knownFields(
  "a file source field",
  Schema.Struct({ file: required(TargetsFile), unit: Unit, normalize: Schema.optionalKey(Schema.Boolean) })
)

const HttpSource = Schema.Struct({
  http: knownFields(
    "a http source field",
    Schema.Struct({
      url: required(HttpUrl),
      /** Header name → environment variable that holds its value. */
      headers: Schema.optionalKey(Schema.Record(Schema.String, EnvName)),
      /** Per attempt; more than 0, at most an hour. */
      timeoutSeconds: Schema.optionalKey(
        Schema.Number.check(
          Schema.isBetween({ minimum: 0, maximum: 3600, exclusiveMinimum: true }, {
            expected: "a number of seconds above 0, at most 3600"
          })
        )
      ),
      /** Retries after the first attempt: a whole number, 0 to 10. */
      retries: Schema.optionalKey(
        Schema.Number.check(
          Schema.isInt({ expected: "a whole number" }),
          Schema.isBetween({ minimum: 0, maximum: 10 }, { expected: "a whole number from 0 to 10" })
        )
      ),
      mapping: Schema.optionalKey(
        knownFields(
          "a mapping field",
          Schema.Struct({
            /** A dotted path to the list in the answer, e.g. `data.weights`. */
            list: Schema.optionalKey(
              Schema.String.check(
                Schema.makeFilter((v: string) => v.split(".").every((key) => key !== ""), {
                  expected: "a dotted path such as data.weights"
                })
              )
            ),
            symbol: Schema.optionalKey(Schema.NonEmptyString),
            weight: Schema.optionalKey(Schema.NonEmptyString)
          })
        )
      ),
      unit: Unit,
      normalize: Schema.optionalKey(Schema.Boolean),
      /** How far from 1 the answer's sum may be: a fraction of the whole, below 1. */
      tolerance: Schema.optionalKey(
        CheckedDecimal.check(
          readsAsDecimal({ expected: "a tolerance from 0 up to (not including) 1" }, (d) => !isNegative(d) && d.lt(ONE))
        )
      )
    })
  )
})

const MomentumSource = Schema.Struct({
  momentum: knownFields(
    "a momentum source field",
    Schema.Struct({
      /** The strategy's name in attribution (default "momentum"). */
      name: Schema.optionalKey(Schema.NonEmptyString),
      history: required(HistoryFile),
      universe: required(Schema.Array(Schema.String)),
      lookbackDays: Schema.optionalKey(Schema.Number),
      top: Schema.optionalKey(Schema.Number),
      weighting: Schema.optionalKey(MomentumWeighting),
      positiveOnly: Schema.optionalKey(Schema.Boolean),
      maxStaleDays: Schema.optionalKey(Schema.Number)
    })
  )
})

/** The raw shape, written out because it is recursive. */
export type SourceConfig =
  | string
  | typeof FileSource.Type
  | typeof HttpSource.Type
  | typeof MomentumSource.Type
  | {
    readonly blend: {
      readonly onStrategyFailure?: "fail" | "cash"
      readonly strategies: ReadonlyArray<
        { readonly name: string; readonly share: string | number; readonly source: SourceConfig }
      >
    }
  }
  | {
    readonly regime: {
      readonly history: string
      readonly benchmark?: string
      readonly trendDays?: number
      /** A volatility index symbol, or null for the benchmark's realized volatility. */
      readonly volatilityIndex?: string | null
      readonly indexThreshold?: string | number
      readonly realizedDays?: number
      readonly realizedThreshold?: string | number
      readonly maxStaleDays?: number
      readonly strategies: { readonly [name: string]: SourceConfig }
      /** Regime → strategy name, or a YAML/JSON file holding that map. */
      readonly map: string | { readonly [regime: string]: string }
    }
  }

const Nested: Schema.Codec<SourceConfig> = Schema.suspend((): Schema.Codec<SourceConfig> => Source)

const BlendSource = Schema.Struct({
  blend: knownFields(
    "a blend field",
    Schema.Struct({
      onStrategyFailure: Schema.optionalKey(OnStrategyFailure),
      strategies: required(
        Schema.Array(
          knownFields(
            "a strategy field",
            Schema.Struct({
              name: required(Schema.NonEmptyString),
              share: required(DecimalInput),
              source: required(Nested)
            })
          )
        )
      )
    })
  )
})

const RegimeSource = Schema.Struct({
  regime: knownFields(
    "a regime source field",
    Schema.Struct({
      history: required(HistoryFile),
      benchmark: Schema.optionalKey(Schema.NonEmptyString),
      trendDays: Schema.optionalKey(Schema.Number),
      volatilityIndex: Schema.optionalKey(Schema.NullOr(Schema.NonEmptyString)),
      indexThreshold: Schema.optionalKey(DecimalInput),
      realizedDays: Schema.optionalKey(Schema.Number),
      realizedThreshold: Schema.optionalKey(DecimalInput),
      maxStaleDays: Schema.optionalKey(Schema.Number),
      strategies: required(Schema.Record(Schema.String, Nested)),
      map: required(Schema.Union([MapFile, Schema.Record(Schema.String, Schema.String)]))
    })
  )
})

const ONE_SOURCE = "a targets file, or one of { file }, { http }, { blend }, { regime }, { momentum }"

const KINDS: ReadonlyArray<readonly [string, Schema.Codec<unknown, unknown>]> = [
  ["file", FileSource],
  ["http", HttpSource],
  ["blend", BlendSource],
  ["regime", RegimeSource],
  ["momentum", MomentumSource]
]

/**
 * A source is told apart by its one key (`file`, `http`, …) and decoded against that kind
 * alone. (A plain Union tries every kind and reports another kind's complaint, such as
 * "no excess property" at `targets.http`, instead of the field that is wrong.)
 */
export const Source: Schema.Codec<SourceConfig> = Schema.Unknown.check(
  Schema.makeFilter(
    (input, _ast, options) => {
      if (typeof input === "string") {
        if (input.trim() === "") return ONE_SOURCE
        const file = Schema.decodeUnknownResult(TargetsFile)(input)
        return Result.isSuccess(file) ? undefined : file.failure.issue
      }
      if (typeof input !== "object" || input === null || Array.isArray(input)) return ONE_SOURCE
      const kinds = KINDS.filter(([key]) => Object.hasOwn(input, key))
      const kind = kinds[0]
      if (kind === undefined || kinds.length > 1) return ONE_SOURCE
      const decoded = Schema.decodeUnknownResult(kind[1], options)(input)
      return Result.isSuccess(decoded) ? undefined : decoded.failure.issue
    },
    { expected: ONE_SOURCE }
  )
) as unknown as Schema.Codec<SourceConfig>

/** Replacement sets file and the set this account applies. */
export const Replacements = Schema.Struct({ file: Schema.NonEmptyString, set: Schema.NonEmptyString })

const defined = <A extends object>(o: A): Partial<A> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<A>

/** The config's source as the resolver takes it, with paths resolved against `at(file)`. */
export const toSource = (config: SourceConfig, at: (file: string) => string): TargetsSource => {
  if (typeof config === "string") return { _tag: "file", file: at(config), unit: "fraction", normalize: false }
  if ("file" in config) {
    return {
      _tag: "file",
      file: at(config.file),
      unit: config.unit ?? "fraction",
      normalize: config.normalize ?? false
    }
  }
  if ("http" in config) {
    const h = config.http
    return {
      _tag: "http",
      http: {
        url: h.url,
        headers: h.headers ?? {},
        // Milliseconds as a number: a seconds text such as "1e-7 seconds" would not parse as a Duration.
        timeout: (h.timeoutSeconds ?? HttpSourceDefaults.timeoutSeconds) * 1000,
        retries: h.retries ?? HttpSourceDefaults.retries,
        mapping: { ...HttpSourceDefaults.mapping, ...defined(h.mapping ?? {}) },
        unit: h.unit ?? "fraction",
        normalize: h.normalize ?? false,
        // Checked by the Schema above (CheckedDecimal).
        tolerance: h.tolerance === undefined
          ? HttpSourceDefaults.tolerance
          : Schema.decodeSync(DecimalFromInput)(h.tolerance)
      }
    }
  }
  if ("blend" in config) {
    return {
      _tag: "blend",
      onStrategyFailure: config.blend.onStrategyFailure ?? "fail",
      strategies: config.blend.strategies.map((s) => ({ name: s.name, share: s.share, source: toSource(s.source, at) }))
    }
  }
  if ("regime" in config) {
    const r = config.regime
    return {
      _tag: "regime",
      history: at(r.history),
      options: {
        ...defined({
          benchmark: r.benchmark,
          trendDays: r.trendDays,
          indexThreshold: r.indexThreshold,
          realizedDays: r.realizedDays,
          realizedThreshold: r.realizedThreshold,
          maxStaleDays: r.maxStaleDays
        }),
        // null: no index, the benchmark's realized volatility. Kept as an explicit undefined, which
        // overrides the default index (`defined` would drop it and leave VIX in place).
        ...(r.volatilityIndex === undefined ? {} : { volatilityIndex: r.volatilityIndex ?? undefined })
      },
      strategies: Object.fromEntries(Object.entries(r.strategies).map(([name, s]) => [name, toSource(s, at)])),
      map: typeof r.map === "string" ? { file: at(r.map) } : { inline: r.map }
    }
  }
  const m = config.momentum
  return {
    _tag: "momentum",
    name: m.name ?? "momentum",
    history: at(m.history),
    universe: m.universe,
    options: defined({
      lookbackDays: m.lookbackDays,
      top: m.top,
      weighting: m.weighting,
      positiveOnly: m.positiveOnly,
      maxStaleDays: m.maxStaleDays
    })
  }
}
