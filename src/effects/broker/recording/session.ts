/**
 * Session files: what a broker said during a run, one JSON object per line.
 *
 * Line 1 is the header (format, version, Keel version, account, broker, the run's
 * options, policy and targets); then one event per line in the order the answers
 * arrived: `call` (method, arguments, result or typed error), `update` (an order update
 * as the program's subscription saw it) and, last, `outcome` (what the program decided,
 * written after the run so a replay can compare plans). Every event carries `t`, the
 * milliseconds since the session started, so a replay can run on virtual time.
 *
 * Everything is encoded with the Schemas below and decoded with them again on reading,
 * so a replay never works on a value the program could not have received.
 */
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import { ComputedDecimalText, DecimalText } from "../../../formats/decimal.ts"
import { isRecord } from "../../../kernel/input.ts"
import { Side } from "../../../kernel/rebalance/deltas.ts"
import { Phase } from "../../../kernel/rebalance/orders.ts"
import {
  BrokerConnectionError,
  OrderNotFound,
  OrderRejected,
  OrderStatus,
  OrderType,
  OrderUpdateKind,
  RateLimited,
  TimeInForce,
  UnknownOutcome
} from "../../Broker.ts"
import { decodeShape } from "../../inputs.ts"
import { IntentStatus, OnOpenOrders } from "../../Store.ts"
import { VenueKind } from "../registry.ts"

export const SESSION_FORMAT = "keel-session"
/** Bumped on any change a reader of an older version could misread. */
export const SESSION_VERSION = 1

// ---------------------------------------------------------------------------
// the broker's values, as JSON
// ---------------------------------------------------------------------------

export const PositionJson = Schema.Struct({ symbol: Schema.String, quantity: DecimalText })

export const QuoteJson = Schema.Struct({
  symbol: Schema.String,
  bid: Schema.optionalKey(DecimalText),
  ask: Schema.optionalKey(DecimalText),
  last: Schema.optionalKey(DecimalText),
  close: Schema.optionalKey(DecimalText)
})

/** Equity is the venue's computed value (paper values an unquoted holding at quantity × average cost). */
export const AccountStateJson = Schema.Struct({
  cash: DecimalText,
  buyingPower: DecimalText,
  equity: ComputedDecimalText
})

/**
 * An instant that may never come: null. Sessions recorded before the clock said so wrote the last
 * instant a JavaScript Date can hold (8.64e15) instead; it reads as never.
 */
const MaybeInstant = Schema.NullOr(Schema.Number).pipe(Schema.decodeTo(
  Schema.Option(Schema.Number),
  SchemaTransformation.transform({
    decode: (n) => (n === null || n >= LAST_DATE_MILLIS ? Option.none() : Option.some(n)),
    encode: Option.getOrNull
  })
))
const LAST_DATE_MILLIS = 8.64e15

export const MarketClockJson = Schema.Struct({
  isOpen: Schema.Boolean,
  nextOpen: MaybeInstant,
  nextClose: MaybeInstant
})

const OrderFieldsJson = {
  clientOrderId: Schema.String,
  symbol: Schema.String,
  side: Side,
  quantity: DecimalText,
  type: OrderType,
  limitPrice: Schema.optionalKey(DecimalText)
}

export const OrderRequestJson = Schema.Struct({
  ...OrderFieldsJson,
  timeInForce: TimeInForce,
  closesPosition: Schema.optionalKey(Schema.Boolean)
})

export const AssetJson = Schema.Struct({
  symbol: Schema.String,
  tradable: Schema.Boolean,
  fractionable: Schema.Boolean,
  minFractionalOrderValue: DecimalText
})

export const BrokerOrderJson = Schema.Struct({
  ...OrderFieldsJson,
  id: Schema.String,
  status: OrderStatus,
  filledQuantity: DecimalText,
  averageFillPrice: Schema.optionalKey(DecimalText),
  reason: Schema.optionalKey(Schema.String),
  submittedAt: Schema.Number
})

export const OrderUpdateJson = Schema.Struct({
  kind: OrderUpdateKind,
  order: BrokerOrderJson,
  fill: Schema.optionalKey(Schema.Struct({ quantity: DecimalText, price: DecimalText, commission: DecimalText })),
  at: Schema.Number
})

export const BrokerErrorJson = Schema.Union([
  BrokerConnectionError,
  OrderRejected,
  OrderNotFound,
  RateLimited,
  UnknownOutcome
])

type Codec = Schema.Codec<unknown, unknown>

/**
 * Every Broker method a session holds: its arguments (as one object), its result, and
 * whether it changes the account. Writes are always matched in order on replay.
 */
export const Methods = {
  account: { args: Schema.Null, result: AccountStateJson, writes: false },
  positions: { args: Schema.Null, result: Schema.Array(PositionJson), writes: false },
  quotes: {
    args: Schema.Struct({ symbols: Schema.Array(Schema.String) }),
    result: Schema.Array(QuoteJson),
    writes: false
  },
  clock: { args: Schema.Null, result: MarketClockJson, writes: false },
  assets: {
    args: Schema.Struct({ symbols: Schema.Array(Schema.String) }),
    result: Schema.Array(AssetJson),
    writes: false
  },
  placeOrder: { args: OrderRequestJson, result: BrokerOrderJson, writes: true },
  getOrder: { args: Schema.Struct({ id: Schema.String }), result: BrokerOrderJson, writes: false },
  getOrderByClientId: { args: Schema.Struct({ clientOrderId: Schema.String }), result: BrokerOrderJson, writes: false },
  cancelOrder: { args: Schema.Struct({ id: Schema.String }), result: Schema.Null, writes: true },
  openOrders: { args: Schema.Null, result: Schema.Array(BrokerOrderJson), writes: false }
} as const satisfies Record<string, { readonly args: Codec; readonly result: Codec; readonly writes: boolean }>

/** A Broker method, as a session line names it. */
export const Method = Schema.Literals(Object.keys(Methods) as ReadonlyArray<keyof typeof Methods>)
export type Method = typeof Method.Type

// ---------------------------------------------------------------------------
// lines
// ---------------------------------------------------------------------------

/** A wait of the run: a replay with a poll interval of 0 would never end. */
const PositiveMillis = Schema.Number.check(
  Schema.makeFilter((n: number) => Number.isFinite(n) && n > 0, { expected: "a number of milliseconds above 0" })
)

/** An instant a JavaScript Date can hold. */
const EpochMillis = Schema.Number.check(
  Schema.makeFilter((n: number) => Number.isInteger(n) && n >= 0 && n <= LAST_DATE_MILLIS, {
    expected: "epoch milliseconds (a whole number from 0 to 8.64e15)"
  })
)

/** What the program was asked to do: enough to run it again exactly. */
export const RunOptionsJson = Schema.Struct({
  execute: Schema.Boolean,
  ignoreMarketHours: Schema.Boolean,
  onOpenOrders: OnOpenOrders,
  fillTimeoutMillis: PositiveMillis,
  pollIntervalMillis: PositiveMillis
})

export const HeaderJson = Schema.Struct({
  type: Schema.Literal("header"),
  format: Schema.Literal(SESSION_FORMAT),
  version: Schema.Number,
  keel: Schema.String,
  /** Epoch milliseconds of the session's start; every `t` counts from here. */
  startedAt: EpochMillis,
  account: Schema.String,
  /** The recorded venue's kind: a replay answers with its capabilities. */
  broker: VenueKind,
  run: RunOptionsJson,
  policy: Schema.Unknown,
  targets: Schema.Unknown
})
export type Header = typeof HeaderJson.Type

const CallJson = Schema.Struct({
  type: Schema.Literal("call"),
  t: Schema.Number,
  method: Method,
  args: Schema.Unknown,
  result: Schema.optionalKey(Schema.Unknown),
  error: Schema.optionalKey(Schema.Unknown)
})

const UpdateJson = Schema.Struct({
  type: Schema.Literal("update"),
  t: Schema.Number,
  /** Which subscription to `updates` saw it (1 for the first). */
  sub: Schema.Number,
  update: Schema.Unknown
})

/** A planned order, as the outcome line keeps it. */
export const PlannedJson = Schema.Struct({
  phase: Phase,
  side: Side,
  symbol: Schema.String,
  quantity: Schema.String
})
export type Planned = typeof PlannedJson.Type

/** A placed order (its intent) as it ended. */
export const PlacedJson = Schema.Struct({
  clientOrderId: Schema.String,
  ...PlannedJson.fields,
  status: IntentStatus,
  filledQuantity: Schema.String
})
export type Placed = typeof PlacedJson.Type

/** What the program decided and where it ended: the run as its Store tells it. */
export const OutcomeJson = Schema.Struct({
  type: Schema.Literal("outcome"),
  t: Schema.Number,
  status: Schema.String,
  step: Schema.String,
  plan: Schema.NullOr(Schema.Array(PlannedJson)),
  buyReplan: Schema.NullOr(Schema.Array(PlannedJson)),
  orders: Schema.Array(PlacedJson),
  positions: Schema.NullOr(Schema.Array(Schema.Struct({ symbol: Schema.String, quantity: Schema.String })))
})
export type Outcome = typeof OutcomeJson.Type

export interface CallEvent {
  readonly type: "call"
  readonly line: number
  readonly t: number
  readonly method: Method
  /** As written (for reports and comparison). */
  readonly args: unknown
  readonly answer: { readonly _tag: "Success"; readonly value: unknown } | {
    readonly _tag: "Failure"
    readonly error: unknown
  }
}

export interface UpdateEvent {
  readonly type: "update"
  readonly line: number
  readonly t: number
  readonly sub: number
  readonly update: typeof OrderUpdateJson.Type
}

export interface Session {
  readonly file: string
  readonly header: Header
  readonly calls: ReadonlyArray<CallEvent>
  readonly updates: ReadonlyArray<UpdateEvent>
  readonly outcome: Outcome | undefined
  /** A last line cut short (a crash while recording); the lines before it are all here. */
  readonly truncatedLine: number | undefined
}

const encoder = <S extends Codec>(schema: S) => Schema.encodeUnknownSync(schema)

/** A Broker method's arguments, encoded for a call line. */
export const encodeArgs = (method: Method, args: unknown): unknown => encoder(Methods[method].args)(args)
export const encodeResult = (method: Method, value: unknown): unknown => encoder(Methods[method].result)(value)
export const encodeError = (error: unknown): unknown => encoder(BrokerErrorJson)(error)
export const encodeUpdate = (update: unknown): unknown => encoder(OrderUpdateJson)(update)

/** Decoding (the other way) for a replay's answers. */
export const decodeResult = (method: Method, json: unknown): unknown =>
  Schema.decodeUnknownSync(Methods[method].result)(json)
export const decodeError = (json: unknown): unknown => Schema.decodeUnknownSync(BrokerErrorJson)(json)
export const decodeUpdate = (json: unknown) => Schema.decodeUnknownSync(OrderUpdateJson)(json)

/**
 * Parses a session file's text. A problem is `line N: …` (the CLI adds the file); a
 * last line without its newline that is not JSON is a crash mid-write, reported in
 * `truncatedLine`, never an error, so the rest can still be inspected and replayed.
 */
export const parseSession = (file: string, text: string): Result.Result<Session, string> => {
  const lines = text.split("\n")
  const endsClean = text.endsWith("\n")
  if (endsClean) lines.pop()
  let header: Header | undefined
  const calls: Array<CallEvent> = []
  const updates: Array<UpdateEvent> = []
  let outcome: Outcome | undefined
  let truncatedLine: number | undefined
  for (const [index, raw] of lines.entries()) {
    const line = index + 1
    if (raw.trim() === "") continue
    const parsed = parseLine(raw)
    if (Result.isFailure(parsed)) {
      if (index === lines.length - 1 && !endsClean && line > 1) {
        truncatedLine = line
        break
      }
      return Result.fail(`line ${line}: not a JSON object (${parsed.failure})`)
    }
    const value = parsed.success
    if (header === undefined) {
      const found = checkHeader(value)
      if (Result.isFailure(found)) return Result.fail(`line ${line}: ${found.failure}`)
      header = found.success
      continue
    }
    const event = readEvent(value, line)
    if (Result.isFailure(event)) return Result.fail(`line ${line}: ${event.failure}`)
    const e = event.success
    if (e === undefined) continue
    if (e.type === "call") calls.push(e)
    else if (e.type === "update") updates.push(e)
    else outcome = e
  }
  if (header === undefined) return Result.fail("line 1: expected a session header, got an empty file")
  return Result.succeed({ file, header, calls, updates, outcome, truncatedLine })
}

/** One line as JSON (numbers as JavaScript numbers: a session holds no amounts as numbers). */
const parseLine = (raw: string): Result.Result<unknown, string> => {
  try {
    return Result.succeed(JSON.parse(raw) as unknown)
  } catch (e) {
    return Result.fail((e as Error).message)
  }
}

const typeOf = (value: unknown): unknown => (isRecord(value) ? value["type"] : undefined)

const checkHeader = (value: unknown): Result.Result<Header, string> => {
  const record = isRecord(value) ? value : {}
  if (typeOf(value) !== "header" || record["format"] !== SESSION_FORMAT) {
    return Result.fail(
      `expected a ${SESSION_FORMAT} header (the first line of a file written by --record), got ${
        JSON.stringify(value).slice(0, 60)
      }`
    )
  }
  if (record["version"] !== SESSION_VERSION) {
    return Result.fail(
      `unknown session format version ${JSON.stringify(record["version"])} (this Keel reads version ${SESSION_VERSION})`
    )
  }
  return decodeShape(HeaderJson, value)
}

const readEvent = (
  value: unknown,
  line: number
): Result.Result<CallEvent | UpdateEvent | Outcome | undefined, string> => {
  switch (typeOf(value)) {
    case "call": {
      const call = decodeShape(CallJson, value)
      if (Result.isFailure(call)) return Result.fail(call.failure)
      const { method, t, args } = call.success
      const spec = Methods[method]
      const checked = decodeShape(spec.args as Codec, args)
      if (Result.isFailure(checked)) return Result.fail(`${method} args: ${checked.failure}`)
      if (call.success.error !== undefined) {
        const error = decodeShape(BrokerErrorJson as Codec, call.success.error)
        return Result.isFailure(error)
          ? Result.fail(`${method} error: ${error.failure}`)
          : Result.succeed({
            type: "call",
            line,
            t,
            method,
            args,
            answer: { _tag: "Failure", error: call.success.error }
          })
      }
      const result = decodeShape(spec.result as Codec, call.success.result ?? null)
      return Result.isFailure(result)
        ? Result.fail(`${method} result: ${result.failure}`)
        : Result.succeed({
          type: "call",
          line,
          t,
          method,
          args,
          answer: { _tag: "Success", value: call.success.result ?? null }
        })
    }
    case "update": {
      const update = decodeShape(UpdateJson, value)
      if (Result.isFailure(update)) return Result.fail(update.failure)
      const decoded = decodeShape(OrderUpdateJson, update.success.update)
      return Result.isFailure(decoded)
        ? Result.fail(`update: ${decoded.failure}`)
        : Result.succeed({
          type: "update",
          line,
          t: update.success.t,
          sub: update.success.sub,
          update: decoded.success
        })
    }
    case "outcome":
      return decodeShape(OutcomeJson, value)
    default:
      return Result.fail(
        `expected an event of type call, update or outcome, got ${JSON.stringify(typeOf(value) ?? null)}`
      )
  }
}
