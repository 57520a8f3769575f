/**
 * Replay: a Broker that answers from a session file, and never reaches a venue.
 *
 * Matching rule (strict by default). The program must make the recorded calls in the
 * recorded order, with these two allowances, both for questions whose order carries no
 * meaning:
 * - Reads that follow each other in the recording (account, positions, quotes, clock,
 *   assets, openOrders, getOrder, getOrderByClientId) may be matched in any order among
 *   themselves; a write (placeOrder, cancelOrder) is a barrier: every read recorded before
 *   it must have been made, and it must be the next recorded write.
 * - Arguments are compared as values: the symbols of a quotes or assets call as a set.
 * - Polls (getOrder) depend on timing: the program asks about an unfinished order every
 *   poll interval until an update or a poll says it is done, and a few milliseconds decide
 *   whether one more poll happens. So they never block: a recorded poll the program does
 *   not make is skipped once the program moves past it, and an extra poll is answered with
 *   the latest recorded answer for that order up to that point (or, before any, the next
 *   one). Skipped and extra polls are not differences.
 * Client order ids embed the run id, which is new on every run. The first time the
 * program places an order under an id the recording has not seen, it is paired with the
 * recorded order's id (all other fields must match); from then on the two are the same
 * order in both directions, and a second pairing for either id is a divergence.
 *
 * Answers come at their recorded times on the virtual clock: a call is answered no
 * earlier than its recorded `t`, and a recorded order update is delivered at its `t`
 * once every call recorded before it has been made (and, for an order of this session,
 * once the program has placed it). With a virtual clock (the replay
 * program uses TestClock) a session that waited a minute for fills replays at once.
 *
 * On the first divergence the call never returns: `ReplayControl.diverged` completes with
 * what the program asked, what the recording expected and where, and the replay program
 * stops the run.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { isRecord } from "../../../kernel/input.ts"
import { Broker, type BrokerShape, type OrderUpdate } from "../../Broker.ts"
import {
  type CallEvent,
  decodeError,
  decodeResult,
  decodeUpdate,
  encodeArgs,
  encodeUpdate,
  type Method,
  Methods,
  type Session
} from "../recording/session.ts"
import { capabilitiesOf } from "../registry.ts"

export interface RecordedCall {
  readonly method: Method
  readonly args: unknown
}

export interface Divergence {
  /** The recorded call the program should have made, and its line (none: the recording had no more calls). */
  readonly expected: (RecordedCall & { readonly line: number }) | undefined
  readonly made: RecordedCall
}

export interface ReplayControlShape {
  readonly diverged: Deferred.Deferred<Divergence>
  /** Recorded calls the program has not made (after a complete run: the ones it skipped), polls aside. */
  readonly unmatched: Effect.Effect<ReadonlyArray<CallEvent>>
}

export class ReplayControl
  extends Context.Service<ReplayControl, ReplayControlShape>()("keel/effects/broker/ReplayControl")
{}

/** JSON with object keys sorted, for comparing values regardless of key order. */
export const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    isRecord(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

const comparable = (method: Method, args: unknown): unknown => {
  if (method !== "quotes" && method !== "assets") return args
  const symbols = (args as { readonly symbols: ReadonlyArray<string> }).symbols
  return { symbols: [...new Set(symbols)].sort() }
}

/** Replaces every `clientOrderId` value found in `ids` (a recorded answer told in the replay's ids). */
const renameIds = (value: unknown, ids: ReadonlyMap<string, string>): unknown => {
  if (ids.size === 0) return value
  if (Array.isArray(value)) return value.map((v) => renameIds(v, ids))
  if (typeof value !== "object" || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    out[key] = key === "clientOrderId" && typeof v === "string" ? (ids.get(v) ?? v) : renameIds(v, ids)
  }
  return out
}

export const layer = (session: Session): Layer.Layer<Broker | ReplayControl> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const calls = session.calls
      const consumed = calls.map(() => false)
      let cursor = 0
      const toRecorded = new Map<string, string>()
      const toReplayed = new Map<string, string>()
      const diverged = yield* Deferred.make<Divergence>()
      let progress = yield* Deferred.make<void>()
      const start = session.header.startedAt

      const isPoll = (j: number): boolean => calls[j]!.method === "getOrder"

      /** The first call not made yet that a later event must wait for (polls never block). */
      const firstBlockingLine = (): number => {
        for (let j = cursor; j < calls.length; j++) if (!consumed[j] && !isPoll(j)) return calls[j]!.line
        return Number.POSITIVE_INFINITY
      }

      /**
       * The recorded calls the next call may match: the run of reads from the first call not
       * made yet, and the next write once every read before it but polls has been made.
       */
      const candidates = (): ReadonlyArray<number> => {
        const out: Array<number> = []
        let blocked = false
        for (let j = cursor; j < calls.length; j++) {
          if (consumed[j]) continue
          const call = calls[j]!
          if (Methods[call.method].writes) return blocked ? out : [...out, j]
          if (!isPoll(j)) blocked = true
          out.push(j)
        }
        return out
      }

      /** An extra poll's answer: the latest recorded one for that order before the first call not made, else the next one. */
      const pollAnswer = (made: unknown): CallEvent | undefined => {
        const same = calls.filter((c) => c.method === "getOrder" && canonical(c.args) === canonical(made))
        const before = same.filter((c) => c.line < (calls[cursor]?.line ?? Number.POSITIVE_INFINITY))
        return before.at(-1) ?? same[0]
      }

      /** Does the program's call match recorded call j? Pairs a new client order id when placing. */
      const matches = (j: number, method: Method, made: Record<string, unknown> | null): boolean => {
        const call = calls[j]!
        if (call.method !== method) return false
        const recorded = call.args as Record<string, unknown> | null
        let mine = made
        if (method === "placeOrder" && made !== null && recorded !== null) {
          const id = made["clientOrderId"] as string
          const theirs = recorded["clientOrderId"] as string
          const paired = toRecorded.get(id)
          if (paired === undefined && !toReplayed.has(theirs)) mine = { ...made, clientOrderId: theirs }
          else if (paired !== undefined) mine = { ...made, clientOrderId: paired }
        } else if (method === "getOrderByClientId" && made !== null) {
          const id = made["clientOrderId"] as string
          mine = { clientOrderId: toRecorded.get(id) ?? id }
        }
        return canonical(comparable(method, mine)) === canonical(comparable(method, recorded))
      }

      const consume = (j: number) =>
        Effect.gen(function*() {
          consumed[j] = true
          // Recorded polls the program went past without making are skipped.
          if (!isPoll(j)) { for (let k = cursor; k < j; k++) if (isPoll(k)) consumed[k] = true }
          while (cursor < calls.length && consumed[cursor]) cursor++
          const done = progress
          progress = yield* Deferred.make<void>()
          yield* Deferred.succeed(done, undefined)
        })

      const sleepUntil = (t: number) =>
        Effect.flatMap(
          Clock.currentTimeMillis,
          (now) => (start + t > now ? Effect.sleep(start + t - now) : Effect.void)
        )

      const answer = <A, E>(method: Method, args: unknown): Effect.Effect<A, E> =>
        Effect.suspend(() => {
          const made = encodeArgs(method, args) as Record<string, unknown> | null
          const found = candidates().find((j) => matches(j, method, made))
          const extra = found === undefined && method === "getOrder" ? pollAnswer(made) : undefined
          if (extra !== undefined) return respond<A, E>(method, extra)
          if (found === undefined) {
            const open = candidates()
            const next = calls[open.find((j) => !isPoll(j)) ?? open[0] ?? calls.length]
            const divergence: Divergence = {
              made: { method, args: made },
              expected: next === undefined ? undefined : { method: next.method, args: next.args, line: next.line }
            }
            return Deferred.succeed(diverged, divergence).pipe(Effect.andThen(Effect.never))
          }
          const call = calls[found]!
          if (method === "placeOrder" && made !== null) {
            const id = made["clientOrderId"] as string
            const theirs = (call.args as Record<string, unknown>)["clientOrderId"] as string
            toRecorded.set(id, theirs)
            toReplayed.set(theirs, id)
          }
          return consume(found).pipe(Effect.andThen(sleepUntil(call.t)), Effect.andThen(respond<A, E>(method, call)))
        })

      /** A recorded answer, told in the replay's client order ids. */
      const respond = <A, E>(method: Method, call: CallEvent): Effect.Effect<A, E> =>
        Effect.suspend(() =>
          call.answer._tag === "Success"
            ? Effect.succeed(decodeResult(method, renameIds(call.answer.value, toReplayed)) as A)
            : Effect.fail(decodeError(renameIds(call.answer.error, toReplayed)) as E)
        )

      /** Client order ids the recording placed: an update of one cannot come before the program places it. */
      const placed = new Set(
        calls.flatMap((
          c
        ) => (c.method === "placeOrder" ? [(c.args as { readonly clientOrderId: string }).clientOrderId] : []))
      )

      /**
       * Waits until every call recorded before `line` has been made and, for an update of an
       * order this session placed, until the program has placed it. A venue may publish an
       * order's first events before the submit's answer arrives, so such an update is recorded
       * ahead of its `placeOrder` line; it still cannot precede the request itself.
       */
      const reached = (line: number, clientOrderId: string): Effect.Effect<void> =>
        Effect.suspend(() =>
          firstBlockingLine() > line && (!placed.has(clientOrderId) || toReplayed.has(clientOrderId))
            ? Effect.void
            : Effect.andThen(Deferred.await(progress), reached(line, clientOrderId))
        )

      let subscriptions = 0
      const updatesOf = (sub: number): Stream.Stream<OrderUpdate> =>
        Stream.fromIterable(session.updates.filter((u) => u.sub === sub)).pipe(
          Stream.mapEffect((u) =>
            reached(u.line, u.update.order.clientOrderId).pipe(
              Effect.andThen(sleepUntil(u.t)),
              Effect.map((): OrderUpdate => decodeUpdate(renameIds(encodeUpdate(u.update), toReplayed)))
            )
          ),
          // A live subscription never ends on its own; neither does a replayed one.
          Stream.concat(Stream.never)
        )

      const broker: BrokerShape = {
        kind: session.header.broker,
        capabilities: capabilitiesOf(session.header.broker),
        account: answer("account", null),
        positions: answer("positions", null),
        quotes: (symbols) => answer("quotes", { symbols }),
        clock: answer("clock", null),
        assets: (symbols) => answer("assets", { symbols }),
        placeOrder: (request) => answer("placeOrder", request),
        getOrder: (id) => answer("getOrder", { id }),
        getOrderByClientId: (clientOrderId) => answer("getOrderByClientId", { clientOrderId }),
        cancelOrder: (id) => Effect.asVoid(answer("cancelOrder", { id })),
        openOrders: answer("openOrders", null),
        updates: Stream.unwrap(Effect.sync(() => updatesOf(++subscriptions)))
      }
      const control: ReplayControlShape = {
        diverged,
        unmatched: Effect.sync(() => calls.filter((_, j) => !consumed[j] && !isPoll(j)))
      }
      return Context.make(Broker, broker).pipe(Context.add(ReplayControl, control))
    })
  )
