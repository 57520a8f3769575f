/**
 * Recording: wraps any Broker Layer and appends every call, answer and order update to
 * a session file (see session.ts), so a run can be replayed offline.
 *
 * Each line is written with one synchronous write as soon as its answer arrives, so a
 * crash keeps everything recorded before it (at worst the last line is cut short, which
 * a replay reports). The file must not exist yet: a recording is evidence, and nothing
 * overwrites it. Secrets never reach the file: every line is scrubbed (see secrets.ts `scrub`).
 *
 * A recording that cannot be written once the run has started does not stop the run (a
 * half-done rebalance is worse than a half-written file): the problem is kept, writing
 * stops, and `SessionLog.problem` reports it for the run's output.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import { Broker, type BrokerShape } from "../../Broker.ts"
import { InputFileError } from "../../inputs.ts"
import { scrub } from "../../secrets.ts"
import {
  encodeArgs,
  encodeError,
  encodeResult,
  encodeUpdate,
  type Header,
  type Method,
  type Outcome,
  SESSION_FORMAT,
  SESSION_VERSION
} from "./session.ts"

export interface RecordingOptions {
  readonly file: string
  /** Everything the header holds but its fixed fields, the start time and the broker's kind. */
  readonly header: Omit<Header, "type" | "format" | "version" | "startedAt" | "broker">
  /** Values scrubbed from every line wherever they appear (API keys, account numbers). */
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
}

export interface SessionLogShape {
  readonly file: string
  /** Appends the run's outcome (the last line), for a replay to compare plans against. */
  readonly outcome: (outcome: Omit<Outcome, "type" | "t">) => Effect.Effect<void>
  /** The first write that failed, if any: the recording stops there. */
  readonly problem: Effect.Effect<string | undefined>
}

export class SessionLog extends Context.Service<SessionLog, SessionLogShape>()("keel/effects/broker/SessionLog") {}

const openFile = (file: string) =>
  Effect.try({
    try: () => {
      Fs.mkdirSync(NodePath.dirname(file), { recursive: true })
      return Fs.openSync(file, "wx")
    },
    catch: (e) =>
      new InputFileError({
        file,
        detail: (e as NodeJS.ErrnoException).code === "EEXIST"
          ? "cannot record: the file already exists (a recording is never overwritten; choose a new name)"
          : `cannot record: ${(e as Error).message}`
      })
  })

/** The Broker the layer is given, recorded; and the SessionLog for the run's outcome. */
export const layer = (options: RecordingOptions): Layer.Layer<Broker | SessionLog, InputFileError, Broker> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const inner = yield* Broker
      const secrets = options.secrets.map(Redacted.value)
      const fd = yield* Effect.acquireRelease(openFile(options.file), (fd) => Effect.sync(() => Fs.closeSync(fd)))
      const startedAt = yield* Clock.currentTimeMillis
      let problem: string | undefined
      const write = (event: Record<string, unknown>) =>
        Effect.sync(() => {
          if (problem !== undefined) return
          try {
            Fs.writeSync(fd, `${JSON.stringify(scrub(event, secrets))}\n`)
          } catch (e) {
            problem = `recording stopped: ${scrub((e as Error).message, secrets)}`
          }
        })
      // The broker is a venue of the registry, which a replay reads its capabilities from.
      const header: Omit<Header, "broker"> & { readonly broker: string } = {
        type: "header",
        format: SESSION_FORMAT,
        version: SESSION_VERSION,
        startedAt,
        broker: inner.kind,
        ...options.header
      }
      yield* write(header)
      const elapsed = Effect.map(Clock.currentTimeMillis, (now) => now - startedAt)

      const recorded = <A, E, R>(method: Method, args: unknown, call: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
        call.pipe(
          Effect.tap((value) =>
            Effect.flatMap(
              elapsed,
              (t) =>
                write({ type: "call", t, method, args: encodeArgs(method, args), result: encodeResult(method, value) })
            )
          ),
          Effect.tapError((error) =>
            Effect.flatMap(
              elapsed,
              (t) => write({ type: "call", t, method, args: encodeArgs(method, args), error: encodeError(error) })
            )
          )
        )

      let subscriptions = 0
      const broker: BrokerShape = {
        kind: inner.kind,
        capabilities: inner.capabilities,
        account: recorded("account", null, inner.account),
        positions: recorded("positions", null, inner.positions),
        quotes: (symbols) => recorded("quotes", { symbols }, inner.quotes(symbols)),
        clock: recorded("clock", null, inner.clock),
        assets: (symbols) => recorded("assets", { symbols }, inner.assets(symbols)),
        placeOrder: (request) => recorded("placeOrder", request, inner.placeOrder(request)),
        getOrder: (id) => recorded("getOrder", { id }, inner.getOrder(id)),
        // What the caller stored of the order only helps the venue find it: the call is recorded by its id.
        getOrderByClientId: (clientOrderId, sent) =>
          recorded("getOrderByClientId", { clientOrderId }, inner.getOrderByClientId(clientOrderId, sent)),
        cancelOrder: (id) =>
          recorded("cancelOrder", { id }, Effect.as(inner.cancelOrder(id), null)).pipe(Effect.asVoid),
        openOrders: recorded("openOrders", null, inner.openOrders),
        updates: Stream.unwrap(
          Effect.sync(() => ++subscriptions).pipe(
            Effect.map((sub) =>
              inner.updates.pipe(
                Stream.tap((update) =>
                  Effect.flatMap(elapsed, (t) => write({ type: "update", t, sub, update: encodeUpdate(update) }))
                )
              )
            )
          )
        )
      }
      const log: SessionLogShape = {
        file: options.file,
        outcome: (outcome) => Effect.flatMap(elapsed, (t) => write({ type: "outcome", t, ...outcome })),
        problem: Effect.sync(() => problem)
      }
      return Context.make(Broker, broker).pipe(Context.add(SessionLog, log))
    })
  )
