/**
 * The paper venue's block in keel.yaml (`broker: { kind: paper, … }`), the layer's config it
 * gives, and where the account's books live. Amounts may be written as strings or numbers; the
 * layer reads them exactly.
 */
import * as Schema from "effect/Schema"
import { DecimalInput, readsAsDecimal } from "../../../formats/decimal.ts"
import { isNegative } from "../../../kernel/decimal.ts"
import type { VenueContext } from "../../Broker.ts"
import { knownFields, PositiveDecimal } from "../../configFields.ts"
import { inConfigDir } from "../../inputs.ts"
import type { PaperConfig } from "./layer.ts"

/** Whether the simulated market is open: always, or never (orders wait, a run stops at its guards). */
export const MarketOpen = Schema.Literals(["always", "never", "calendar"])
export type MarketOpen = typeof MarketOpen.Type

/**
 * A number that passes `test`, said as `expected`. Every field is checked here, when keel.yaml is
 * read, so a bad one names the file and its path before anything is created (the layer checks
 * again, for programs that build it without keel.yaml).
 */
const NumberThat = (expected: string, test: (n: number) => boolean) =>
  Schema.Number.check(Schema.makeFilter((n: number) => Number.isFinite(n) && test(n), { expected }))

const AnyNumber = NumberThat("a finite number", () => true)
const NonNegativeDecimal = DecimalInput.check(
  readsAsDecimal({ expected: "a non-negative decimal" }, (d) => !isNegative(d))
)
const BasisPoints = NumberThat("a number of basis points, at least 0", (n) => n >= 0)

const RandomWalk = knownFields(
  "a random walk field",
  Schema.Struct({
    seed: AnyNumber,
    prices: Schema.Record(Schema.String, PositiveDecimal),
    volatilityBps: Schema.optionalKey(BasisPoints)
  })
)

export const Config = knownFields(
  "a paper broker field",
  Schema.Struct({
    kind: Schema.Literal("paper"),
    /** The account's books (SQLite), relative to the working directory like `store.sqlite`. */
    books: Schema.optionalKey(Schema.NonEmptyString),
    /** Cash of a new paper account (default 100000); an existing account keeps its own. */
    startingCash: Schema.optionalKey(NonNegativeDecimal),
    /** Quotes file (JSON or CSV `symbol,bid,ask,last`), relative to keel.yaml. */
    quotes: Schema.optionalKey(Schema.NonEmptyString),
    /** Or a seeded random walk from these prices. */
    randomWalk: Schema.optionalKey(RandomWalk),
    /** Below 10000 (100%): a sell must still fetch something. */
    slippageBps: Schema.optionalKey(
      NumberThat("a number of basis points from 0 up to (not including) 10000", (n) => n >= 0 && n < 10_000)
    ),
    commissionPerOrder: Schema.optionalKey(NonNegativeDecimal),
    commissionPerShare: Schema.optionalKey(NonNegativeDecimal),
    fillLatencySeconds: Schema.optionalKey(NumberThat("a number of seconds, at least 0", (n) => n >= 0)),
    partialFills: Schema.optionalKey(
      NumberThat("a whole number, at least 1", (n) => Number.isSafeInteger(n) && n >= 1)
    ),
    rejectionRate: Schema.optionalKey(NumberThat("a number from 0 to 1", (n) => n >= 0 && n <= 1)),
    rejectionSeed: Schema.optionalKey(AnyNumber),
    marketOpen: Schema.optionalKey(MarketOpen)
  })
)
export type Config = typeof Config.Type

/** Defaults of the block, documented in the README. */
export const PaperDefaults = {
  startingCash: "100000",
  quotes: "quotes.csv",
  volatilityBps: 50,
  /** Beside Keel's store, never in it: deleting the store must not reset the account. */
  books: (account: string) => `.keel/paper/${account}.db`
} as const

/** The account's books file: the block's `books`, else one file per account under `.keel/paper/`. */
export const booksFile = (broker: Config, context: VenueContext): string =>
  broker.books ?? PaperDefaults.books(context.account)

/** The layer's config of an account's paper block. */
export const paperConfig = (broker: Config, context: VenueContext): PaperConfig => ({
  account: context.account,
  startingCash: String(broker.startingCash ?? PaperDefaults.startingCash),
  quotes: broker.randomWalk !== undefined
    ? {
      kind: "random-walk",
      seed: broker.randomWalk.seed,
      start: Object.fromEntries(Object.entries(broker.randomWalk.prices).map(([s, p]) => [s, String(p)])),
      volatilityBps: broker.randomWalk.volatilityBps ?? PaperDefaults.volatilityBps
    }
    : { kind: "file", path: inConfigDir(context.dir, broker.quotes ?? PaperDefaults.quotes) },
  ...(broker.slippageBps === undefined ? {} : { slippageBps: broker.slippageBps }),
  commission: {
    ...(broker.commissionPerOrder === undefined ? {} : { perOrder: String(broker.commissionPerOrder) }),
    ...(broker.commissionPerShare === undefined ? {} : { perShare: String(broker.commissionPerShare) })
  },
  ...(broker.fillLatencySeconds === undefined ? {} : { fillLatency: `${broker.fillLatencySeconds} seconds` as const }),
  ...(broker.partialFills === undefined ? {} : { partialFills: broker.partialFills }),
  ...(broker.rejectionRate === undefined ? {} : { rejectionRate: broker.rejectionRate }),
  ...(broker.rejectionSeed === undefined ? {} : { seed: broker.rejectionSeed }),
  ...(broker.marketOpen === undefined ? {} : { marketOpen: broker.marketOpen }),
  ...(context.calendar === undefined ? {} : { calendar: context.calendar })
})
