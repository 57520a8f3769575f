/**
 * The trade_updates websocket as a stream of Broker order updates.
 *
 * Each connection: open the socket, send `{"action":"authenticate","data":{"key_id","secret_key"}}`,
 * wait for `authorization` with status `authorized`, send
 * `{"action":"listen","data":{"streams":["trade_updates"]}}`, wait for `listening`, then follow
 * `trade_updates` messages. Frames may be text or binary (the paper stream sends binary);
 * both carry the same JSON.
 *
 * A dropped socket never fails the stream: it reconnects, at once after a connection that
 * was listening, else with exponential backoff and jitter (capped). Only an explicit
 * `unauthorized` answer ends the stream (with BrokerConnectionError): repeating the same
 * credentials cannot help. Updates sent while no socket was connected are lost; the program
 * also polls its orders, so no fill is lost with them. A message Keel cannot read is logged
 * and skipped.
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
import * as Stream from "effect/Stream"
import * as Socket from "effect/socket/Socket"
import { BrokerConnectionError, type OrderUpdate } from "../../Broker.ts"
import { toOrderUpdate } from "./orders.ts"
import { Authorization, decode, Listening, type PayloadError, StreamMessage, TradeUpdate } from "./schemas.ts"

export interface StreamSettings {
  readonly url: string
  readonly keyId: Redacted.Redacted<string>
  readonly secretKey: Redacted.Redacted<string>
  /** Time allowed from opening the socket to `listening`. */
  readonly handshakeTimeoutMillis: number
  readonly reconnect: {
    readonly baseMillis: number
    readonly maxDelayMillis: number
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

/** The connection ended before it was listening (retried with backoff). */
class NotListening extends Data.TaggedError("NotListening")<{ readonly message: string }> {}

/** Alpaca refused the credentials (ends the stream). */
class Unauthorized extends Data.TaggedError("Unauthorized")<{ readonly message: string }> {}

/** The stream of order updates; each subscription opens its own socket. */
export const tradeUpdates = (settings: StreamSettings): Stream.Stream<OrderUpdate, BrokerConnectionError> =>
  Stream.callback<OrderUpdate, BrokerConnectionError>((queue) =>
    Effect.gen(function*() {
      const socket = yield* Socket.makeWebSocket(settings.url, {
        openTimeout: Duration.millis(settings.handshakeTimeoutMillis)
      })
      const secrets = [Redacted.value(settings.keyId), Redacted.value(settings.secretKey)].filter((s) => s.length > 0)
      const scrub = (text: string) => secrets.reduce((t, secret) => t.split(secret).join("<redacted>"), text)

      const session = Effect.suspend(() => {
        let listening = false
        return Effect.scoped(Effect.gen(function*() {
          const { pull } = yield* socket.reader
          const writer = yield* socket.writer
          yield* writer.write(JSON.stringify({
            action: "authenticate",
            data: { key_id: Redacted.value(settings.keyId), secret_key: Redacted.value(settings.secretKey) }
          }))
          const handle = (frame: string | Uint8Array) =>
            Effect.gen(function*() {
              const message = readFrame(frame)
              if (Result.isFailure(message)) return yield* Effect.logWarning(message.failure)
              const { stream, data } = message.success
              if (stream === "authorization") {
                const auth = yield* decodeAuthorization(data)
                if (auth.status !== "authorized") {
                  return yield* new Unauthorized({ message: `trade_updates: authentication refused (${auth.status})` })
                }
                yield* writer.write(JSON.stringify({ action: "listen", data: { streams: ["trade_updates"] } }))
              } else if (stream === "listening") {
                const answer = yield* decodeListening(data)
                if (answer.error !== undefined) return yield* new NotListening({ message: `trade_updates: ${answer.error}` })
                if (answer.streams?.includes("trade_updates")) listening = true
              } else if (stream === "trade_updates") {
                const update = yield* tradeUpdateOf(data, yield* Clock.currentTimeMillis)
                if (update !== undefined) yield* Queue.offer(queue, update)
              }
            }).pipe(
              Effect.catchTag("PayloadError", (error) => Effect.logWarning(scrub(error.message)))
            )
          const step = Effect.flatMap(pull, (frames) => Effect.forEach(frames, handle, { discard: true }))
          const handshake: Effect.Effect<void, Socket.SocketError | NotListening | Unauthorized> = Effect.suspend(() =>
            listening ? Effect.void : Effect.flatMap(step, () => handshake)
          )
          yield* handshake.pipe(
            Effect.timeoutOrElse({
              duration: Duration.millis(settings.handshakeTimeoutMillis),
              orElse: () => Effect.fail(new NotListening({ message: "trade_updates: no answer to the handshake in time" }))
            })
          )
          return yield* Effect.forever(step)
        })).pipe(
          Effect.catchTag("SocketError", (error) =>
            listening
              ? Effect.logWarning(`trade_updates: socket dropped (${error.reason._tag}); reconnecting`)
              : Effect.fail(new NotListening({ message: `trade_updates: could not connect (${error.reason._tag})` })))
        )
      })

      const backoff = Schedule.exponential(Duration.millis(settings.reconnect.baseMillis)).pipe(
        Schedule.modifyDelay(({ duration }) =>
          Effect.succeed(Duration.min(duration, Duration.millis(settings.reconnect.maxDelayMillis)))),
        Schedule.jittered
      )

      yield* session.pipe(
        Effect.tapError((error) => error._tag === "NotListening" ? Effect.logWarning(scrub(error.message)) : Effect.void),
        Effect.retry({ schedule: backoff, while: (error) => error._tag === "NotListening" }),
        // A connection that was listening dropped: reconnect after the base delay, backoff reset.
        Effect.repeat(Schedule.spaced(Duration.millis(settings.reconnect.baseMillis))),
        // Unauthorized ends the stream; NotListening cannot reach here (retried without bound).
        Effect.mapError((error) => new BrokerConnectionError({ message: scrub(error.message) }))
      )
    }).pipe(Effect.provide(Socket.layerWebSocketConstructorGlobal))
  )
