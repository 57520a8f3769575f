/**
 * The trade_updates websocket as a stream of Broker order updates.
 *
 * Each connection: open the socket, send `{"action":"auth","key":…,"secret":…}` (the current form,
 * as Alpaca's own SDK sends it; the legacy `{"action":"authenticate","data":{…}}` is not sent),
 * wait for `authorization` with status `authorized` (whatever `action` the answer names), send
 * `{"action":"listen","data":{"streams":["trade_updates"]}}`, wait for `listening`, then follow
 * `trade_updates` messages. Frames may be text or binary (the paper stream sends binary);
 * both carry the same JSON.
 *
 * The stream never fails: whatever ends a connection (a drop, a refused or silent
 * handshake, refused credentials) is logged as a warning, without the credentials, and a new
 * connection is opened after the adapter's backoff (backoff.ts: doubling from `baseMillis` up
 * to `maxDelayMillis`, jittered). The backoff starts again from `baseMillis` only after a
 * connection stayed listening for `stableMillis`, so a socket that drops right after
 * `listening` is not reopened in a tight loop. Refused credentials are retried too (slowly, by the same backoff): a key being
 * rotated or an outage of Alpaca's auth must not end the waiting. Updates sent while no
 * socket was connected are lost; the program also polls its orders, so no fill is lost with
 * them. A message Keel cannot read is logged and skipped.
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Socket from "effect/socket/Socket"
import * as Stream from "effect/Stream"
import type { OrderUpdate } from "../../Broker.ts"
import { scrub } from "../../secrets.ts"
import { backoff, type BackoffSettings } from "./backoff.ts"
import { toOrderUpdate } from "./orders.ts"
import { Authorization, decode, Listening, type PayloadError, StreamMessage, TradeUpdate } from "./schemas.ts"

export interface StreamSettings {
  readonly url: string
  readonly keyId: Redacted.Redacted<string>
  readonly secretKey: Redacted.Redacted<string>
  /** Time allowed from opening the socket to `listening`. */
  readonly handshakeTimeoutMillis: number
  /** The first reconnect's delay (before jitter) doubles with each connection that did not stay up. */
  readonly reconnect: BackoffSettings & {
    /** A connection listening this long counts as up: the next reconnect starts from `baseMillis` again. */
    readonly stableMillis: number
  }
}

/** One message of the stream, as sent. */
export type StreamMessage = typeof StreamMessage.Type

const decoder = new TextDecoder("utf-8", { fatal: true })

/** Reads one frame, text or binary, as a stream message. */
export const readFrame = (frame: string | Uint8Array): Result.Result<StreamMessage, string> => {
  let json: unknown
  try {
    json = JSON.parse(typeof frame === "string" ? frame : decoder.decode(frame))
  } catch {
    return Result.fail("trade_updates: a frame that is not JSON text")
  }
  const message = Schema.decodeUnknownResult(StreamMessage)(json)
  return Result.isSuccess(message)
    ? Result.succeed(message.success)
    : Result.fail(`trade_updates: unexpected message: ${message.failure.message}`)
}

const decodeTradeUpdate = decode(TradeUpdate, "trade_updates event")
const decodeAuthorization = decode(Authorization, "trade_updates authorization")
const decodeListening = decode(Listening, "trade_updates listening")

/**
 * The Broker update carried by a `trade_updates` message's data, or undefined for an event
 * Keel does not follow. `now` dates an event that carries no timestamp.
 */
export const tradeUpdateOf = (data: unknown, now: number): Effect.Effect<OrderUpdate | undefined, PayloadError> =>
  Effect.map(decodeTradeUpdate(data), (event) => toOrderUpdate(event, now))

/** The handshake did not end in `listening` (an error answer, or no answer in time). */
class NotListening extends Data.TaggedError("NotListening")<{ readonly message: string }> {}

/** Alpaca refused the credentials. */
class Unauthorized extends Data.TaggedError("Unauthorized")<{ readonly message: string }> {}

/** How one connection ended: when it reached `listening` (if it did), and why it ended. */
interface Ended {
  readonly listenedAt: number | undefined
  readonly why: string
}

/** The stream of order updates; each subscription opens its own socket. */
export const tradeUpdates = (settings: StreamSettings): Stream.Stream<OrderUpdate> =>
  Stream.callback<OrderUpdate>((queue) =>
    Effect.gen(function*() {
      const socket = yield* Socket.makeWebSocket(settings.url, {
        openTimeout: Duration.millis(settings.handshakeTimeoutMillis)
      })
      const secrets = [Redacted.value(settings.keyId), Redacted.value(settings.secretKey)]
      const scrubbed = (text: string) => scrub(text, secrets, { minLength: 1 })

      /** One connection, from opening the socket to its end; never fails. */
      const connection: Effect.Effect<Ended> = Effect.suspend(() => {
        let listenedAt: number | undefined
        return Effect.scoped(Effect.gen(function*() {
          const { pull } = yield* socket.reader
          const writer = yield* socket.writer
          yield* writer.write(JSON.stringify({
            action: "auth",
            key: Redacted.value(settings.keyId),
            secret: Redacted.value(settings.secretKey)
          }))
          const handle = (frame: string | Uint8Array) =>
            Effect.gen(function*() {
              const message = readFrame(frame)
              if (Result.isFailure(message)) return yield* Effect.logWarning(scrubbed(message.failure))
              const { stream, data } = message.success
              if (stream === "authorization") {
                const auth = yield* decodeAuthorization(data)
                if (auth.status !== "authorized") {
                  return yield* new Unauthorized({ message: `trade_updates: authentication refused (${auth.status})` })
                }
                yield* writer.write(JSON.stringify({ action: "listen", data: { streams: ["trade_updates"] } }))
              } else if (stream === "listening") {
                const answer = yield* decodeListening(data)
                if (answer.error !== undefined) {
                  return yield* new NotListening({ message: `trade_updates: ${answer.error}` })
                }
                if (answer.streams?.includes("trade_updates")) listenedAt = yield* Clock.currentTimeMillis
              } else if (stream === "trade_updates") {
                const update = yield* tradeUpdateOf(data, yield* Clock.currentTimeMillis)
                if (update !== undefined) yield* Queue.offer(queue, update)
              }
            }).pipe(
              Effect.catchTag("PayloadError", (error) => Effect.logWarning(scrubbed(error.message)))
            )
          const step = Effect.flatMap(pull, (frames) => Effect.forEach(frames, handle, { discard: true }))
          const handshake: Effect.Effect<void, Socket.SocketError | NotListening | Unauthorized> = Effect.suspend(() =>
            listenedAt !== undefined ? Effect.void : Effect.flatMap(step, () => handshake)
          )
          yield* handshake.pipe(
            Effect.timeoutOrElse({
              duration: Duration.millis(settings.handshakeTimeoutMillis),
              orElse: () =>
                Effect.fail(new NotListening({ message: "trade_updates: no answer to the handshake in time" }))
            })
          )
          return yield* Effect.forever(step)
        })).pipe(
          Effect.catch((error): Effect.Effect<string> =>
            Effect.succeed(
              error._tag !== "SocketError"
                ? error.message
                : listenedAt !== undefined
                ? `trade_updates: socket dropped (${error.reason._tag})`
                : `trade_updates: could not connect (${error.reason._tag})`
            )
          ),
          Effect.map((why): Ended => ({ listenedAt, why }))
        )
      })

      // Connections one after another, without end, each after the next delay of the backoff; a
      // connection that stayed up starts the backoff again.
      const reconnects = backoff(settings.reconnect)
      let nextDelay = yield* Schedule.toStep(reconnects)
      for (;;) {
        const ended = yield* connection
        const now = yield* Clock.currentTimeMillis
        if (ended.listenedAt !== undefined && now - ended.listenedAt >= settings.reconnect.stableMillis) {
          nextDelay = yield* Schedule.toStep(reconnects)
        }
        // An exponential schedule never ends.
        const [, delay] = yield* Effect.orDie(nextDelay(now, undefined))
        yield* Effect.logWarning(scrubbed(`${ended.why}; reconnecting in ${Duration.toMillis(delay)} ms`))
        yield* Effect.sleep(delay)
      }
    }).pipe(Effect.provide(Socket.layerWebSocketConstructorGlobal))
  )
