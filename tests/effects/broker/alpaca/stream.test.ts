/**
 * The trade_updates stream against a local websocket server speaking Alpaca's protocol:
 * authenticate, listen, binary and text frames, reconnection after a drop or a silent
 * server with a backoff that grows (bounded, jittered) and resets only after a connection
 * stayed up, and refused credentials logged and retried.
 *
 * Reconnect timings are real (tens of milliseconds): the tests assert the least each wait
 * must have been (a sleep is never shorter), and upper bounds only with a wide margin.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type { AddressInfo } from "node:net"
import { afterEach } from "vitest"
import { type WebSocket, WebSocketServer } from "ws"
import { Broker } from "../../../../src/effects/Broker.ts"
import { type AlpacaTuning, layer } from "../../../../src/effects/broker/alpaca/layer.ts"
import { format } from "../../../../src/kernel/decimal.ts"

const KEY_ID = "PKSTREAMKEY00077"
const SECRET = "stream-secret-Hh4k"

const order = (id: string, fields: Record<string, unknown> = {}) => ({
  id,
  client_order_id: `client-${id}`,
  created_at: "2026-07-30T14:30:00Z",
  updated_at: "2026-07-30T14:30:00Z",
  symbol: "AAPL",
  qty: "10",
  notional: null,
  filled_qty: "0",
  filled_avg_price: null,
  type: "market",
  side: "sell",
  time_in_force: "day",
  limit_price: null,
  status: "new",
  ...fields
})

const tradeUpdate = (data: Record<string, unknown>) => JSON.stringify({ stream: "trade_updates", data })

interface Connection {
  readonly socket: WebSocket
  readonly messages: Array<unknown>
  /** Date.now() when the server accepted it. */
  readonly at: number
}

/**
 * A trade_updates server. `onListening(connection, index)` runs once a connection has
 * authenticated and asked to listen; `answerAuth(index)` decides whether a connection's
 * authentication is answered at all, and how.
 */
const startServer = async (options: {
  readonly answerAuth?: (index: number) => "authorized" | "unauthorized" | "silent"
  readonly onListening: (connection: Connection, index: number) => void
}) => {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/stream" })
  await new Promise<void>((resolve) => server.once("listening", () => resolve()))
  const connections: Array<Connection> = []
  server.on("connection", (socket) => {
    const index = connections.length
    const connection: Connection = { socket, messages: [], at: Date.now() }
    connections.push(connection)
    socket.on("message", (raw) => {
      const message = JSON.parse(Buffer.from(raw as Buffer).toString("utf8")) as Record<string, unknown> & {
        action: string
      }
      connection.messages.push(message)
      if (message.action === "auth") {
        const answer = options.answerAuth?.(index) ?? "authorized"
        if (answer === "silent") return
        const ok = answer === "authorized" && message["key"] === KEY_ID && message["secret"] === SECRET
        // The paper stream answers in binary frames.
        socket.send(Buffer.from(JSON.stringify({
          stream: "authorization",
          data: { action: "authenticate", status: ok ? "authorized" : "unauthorized" }
        })))
      } else if (message.action === "listen") {
        socket.send(Buffer.from(JSON.stringify({ stream: "listening", data: { streams: ["trade_updates"] } })))
        options.onListening(connection, index)
      }
    })
  })
  const port = (server.address() as AddressInfo).port
  const close = () =>
    new Promise<void>((resolve) => {
      for (const client of server.clients) client.terminate()
      server.close(() => resolve())
    })
  return { url: `ws://127.0.0.1:${port}/stream`, connections, close }
}

const closers: Array<() => Promise<void>> = []
/** What the stream logged (warnings on drops, unreadable frames, reconnects). */
const logged: Array<string> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
  for (const line of logged.splice(0)) {
    expect(line).not.toContain(KEY_ID)
    expect(line).not.toContain(SECRET)
  }
})

const collect = Logger.layer([Logger.make(({ message }) => void logged.push(String(message)))])

const FAST = { reconnect: { baseMillis: 5, maxDelayMillis: 20, stableMillis: 10_000 }, handshakeTimeoutMillis: 300 }

const updates = (url: string, tuning: Partial<AlpacaTuning> = FAST) =>
  Effect.gen(function*() {
    return (yield* Broker).updates
  }).pipe(
    Effect.provide(
      layer({
        tradingUrl: "http://127.0.0.1:9",
        dataUrl: "http://127.0.0.1:9",
        streamUrl: url,
        feed: "iex",
        keyId: Redacted.make(KEY_ID),
        secretKey: Redacted.make(SECRET),
        fractional: true
      }, tuning).pipe(Layer.provide(FetchHttpClient.layer))
    ),
    // The stream runs where it is consumed: the logger goes there too.
    Effect.map(Stream.provide(collect))
  )

describe("trade_updates stream", () => {
  it.live("authenticates, listens, reads binary and text frames, and reconnects after a drop", () =>
    Effect.gen(function*() {
      const server = yield* Effect.promise(() =>
        startServer({
          onListening: ({ socket }, index) => {
            if (index === 0) {
              socket.send(Buffer.from(tradeUpdate({
                event: "partial_fill",
                order: order("a", { status: "partially_filled", filled_qty: "4", filled_avg_price: "190.01" }),
                price: "190.01",
                qty: "4",
                timestamp: "2026-07-30T14:30:01Z"
              })))
              socket.send(tradeUpdate({ event: "done_for_day", order: order("a", { status: "done_for_day" }) }))
              socket.send("this is not json")
              socket.send(tradeUpdate({
                event: "fill",
                order: order("a", { status: "filled", filled_qty: "10", filled_avg_price: "190.004" }),
                price: "190",
                qty: "6",
                timestamp: "2026-07-30T14:30:02Z"
              }))
              // The socket drops without a close handshake.
              setTimeout(() => socket.terminate(), 20)
            } else {
              socket.send(
                tradeUpdate({
                  event: "canceled",
                  order: order("b", { status: "canceled" }),
                  timestamp: "2026-07-30T14:30:03Z"
                })
              )
            }
          }
        })
      )
      closers.push(server.close)
      const stream = yield* updates(server.url)
      const received = yield* stream.pipe(Stream.take(3), Stream.runCollect)
      expect(
        received.map((
          u
        ) => [
          u.kind,
          u.order.id,
          u.order.status,
          u.fill && [format(u.fill.quantity), format(u.fill.price), format(u.fill.commission)]
        ])
      ).toEqual([
        ["partial_fill", "a", "partially_filled", ["4", "190.01", "0"]],
        ["fill", "a", "filled", ["6", "190", "0"]],
        ["canceled", "b", "canceled", undefined]
      ])
      expect(server.connections).toHaveLength(2)
      expect(logged).toEqual(expect.arrayContaining([
        "trade_updates: a frame that is not JSON text",
        expect.stringMatching(/^trade_updates: socket dropped \(\w+\); reconnecting in \d+ ms$/)
      ]))
      expect(server.connections[0]!.messages).toEqual([
        { action: "auth", key: KEY_ID, secret: SECRET },
        { action: "listen", data: { streams: ["trade_updates"] } }
      ])
    }))

  it.live("a server that never answers the handshake is left for a new connection", () =>
    Effect.gen(function*() {
      const server = yield* Effect.promise(() =>
        startServer({
          answerAuth: (index) => (index === 0 ? "silent" : "authorized"),
          onListening: ({ socket }) =>
            socket.send(tradeUpdate({ event: "new", order: order("c"), timestamp: "2026-07-30T14:30:00Z" }))
        })
      )
      closers.push(server.close)
      const stream = yield* updates(server.url)
      const received = yield* stream.pipe(Stream.take(1), Stream.runCollect)
      expect(received.map((u) => [u.kind, u.order.id])).toEqual([["accepted", "c"]])
      expect(server.connections.length).toBeGreaterThanOrEqual(2)
    }))

  /** The gaps between consecutive connections, in ms. */
  const gaps = (connections: ReadonlyArray<Connection>) => connections.slice(1).map((c, i) => c.at - connections[i]!.at)

  it.live("a socket that drops right after listening is reopened after a growing delay, jittered, never above the cap", () =>
    Effect.gen(function*() {
      const server = yield* Effect.promise(() =>
        startServer({
          onListening: ({ socket }, index) => {
            if (index < 6) socket.terminate()
            else socket.send(tradeUpdate({ event: "new", order: order("d"), timestamp: "2026-07-30T14:30:00Z" }))
          }
        })
      )
      closers.push(server.close)
      const stream = yield* updates(server.url, {
        reconnect: { baseMillis: 40, maxDelayMillis: 320, stableMillis: 10_000 },
        handshakeTimeoutMillis: 2_000
      })
      const received = yield* stream.pipe(Stream.take(1), Stream.runCollect)
      expect(received.map((u) => u.order.id)).toEqual(["d"])
      expect(server.connections).toHaveLength(7)
      // Waits of 40, 80, 160, 320, 320, 320 ms, each at least 80% of that (jitter), none much above the cap.
      const waited = gaps(server.connections)
      expect(waited.map((gap, i) => gap >= 0.8 * Math.min(40 * 2 ** i, 320))).toEqual([
        true,
        true,
        true,
        true,
        true,
        true
      ])
      for (const gap of waited) expect(gap).toBeLessThan(320 + 400)
      const warnings = logged.filter((line) => line.startsWith("trade_updates: socket dropped"))
      expect(warnings).toHaveLength(6)
      expect(warnings.map((line) => Number(/reconnecting in (\d+) ms$/.exec(line)?.[1]))).toSatisfy((
        delays: Array<number>
      ) => delays.every((d, i) => d >= 0.8 * Math.min(40 * 2 ** i, 320) && d <= 320))
    }))

  it.live("the backoff starts again from the base only after a connection stayed up for stableMillis", () =>
    Effect.gen(function*() {
      const dropped: Array<number> = []
      const server = yield* Effect.promise(() =>
        startServer({
          onListening: ({ socket }, index) => {
            // 0–3 drop at once (waits 40, 80, 160, 320 after them); 4 stays up 400 ms (> stableMillis); 5 drops at once.
            const drop = () => {
              dropped[index] = Date.now()
              socket.terminate()
            }
            if (index === 4) setTimeout(drop, 400)
            else if (index < 6) drop()
            else socket.send(tradeUpdate({ event: "new", order: order("e"), timestamp: "2026-07-30T14:30:00Z" }))
          }
        })
      )
      closers.push(server.close)
      const stream = yield* updates(server.url, {
        reconnect: { baseMillis: 40, maxDelayMillis: 1_280, stableMillis: 200 },
        handshakeTimeoutMillis: 2_000
      })
      yield* stream.pipe(Stream.take(1), Stream.runDrain)
      const [c5, c6] = [server.connections[5]!.at, server.connections[6]!.at]
      // Without the reset the wait after connection 4 would be at least 0.8 × 640 ms.
      expect(c5 - dropped[4]!).toBeGreaterThanOrEqual(0.8 * 40)
      expect(c5 - dropped[4]!).toBeLessThan(0.8 * 640)
      // And the count starts again: the next wait is the second step, 80 ms.
      expect(c6 - c5).toBeGreaterThanOrEqual(0.8 * 80)
      expect(c6 - c5).toBeLessThan(0.8 * 1_280)
    }))

  it.live("refused credentials are logged without them and retried with a growing backoff; accepted later, updates flow", () =>
    Effect.gen(function*() {
      const server = yield* Effect.promise(() =>
        startServer({
          answerAuth: (index) => (index < 4 ? "unauthorized" : "authorized"),
          onListening: ({ socket }) =>
            socket.send(tradeUpdate({ event: "new", order: order("f"), timestamp: "2026-07-30T14:30:00Z" }))
        })
      )
      closers.push(server.close)
      const stream = yield* updates(server.url, {
        reconnect: { baseMillis: 40, maxDelayMillis: 1_000, stableMillis: 10_000 },
        handshakeTimeoutMillis: 2_000
      })
      const received = yield* stream.pipe(Stream.take(1), Stream.runCollect)
      expect(received.map((u) => [u.kind, u.order.id])).toEqual([["accepted", "f"]])
      expect(server.connections).toHaveLength(5)
      expect(gaps(server.connections).map((gap, i) => gap >= 0.8 * 40 * 2 ** i)).toEqual([true, true, true, true])
      const refused = logged.filter((line) =>
        line.startsWith("trade_updates: authentication refused (unauthorized); reconnecting in ")
      )
      expect(refused).toHaveLength(4)
      // Each attempt authenticated again, with the configured credentials (and none appears in a log: see afterEach).
      for (const c of server.connections) {
        expect(c.messages[0]).toEqual({ action: "auth", key: KEY_ID, secret: SECRET })
      }
    }))

  it.live("a host that is down is retried without failing the stream", () =>
    Effect.gen(function*() {
      // Nothing listens on port 9: the stream keeps trying, and is still running when we stop it.
      const stream = yield* updates("ws://127.0.0.1:9/stream")
      const outcome = yield* stream.pipe(Stream.runDrain, Effect.timeoutOption("300 millis"))
      expect(outcome._tag).toBe("None")
    }))
})
