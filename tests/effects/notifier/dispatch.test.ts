/**
 * The dispatcher against real HTTP servers on 127.0.0.1 and a Store on a SQLite file: retries
 * with backoff, a timeout, the record of every delivery, and a fleet's digest.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { NotifyError } from "../../../src/effects/Notifier.ts"
import * as Dispatch from "../../../src/effects/notifier/dispatch.ts"
import { Store } from "../../../src/effects/Store.ts"
import { tempFiles } from "../store/fixtures.ts"
import {
  type Answer,
  completed,
  expectNoSecret,
  failed,
  notStarted,
  recorder,
  services,
  settingsOf
} from "./fixtures.ts"

const TOKEN = "SECRET-hook-token-55"
const database = tempFiles("keel-dispatch-")
const closes: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const close of closes) await close()
})

/**
 * A webhook channel per server (`name` → its answers), each attempt 0.3 s at most, 3 attempts 10 ms
 * then 20 ms apart; `fleet` says what a channel gets in a fleet run; `extra` adds to the block.
 */
const webhooks = (
  answers: Record<string, ReadonlyArray<Answer>>,
  extra: Record<string, unknown> = {},
  fleet: Record<string, Dispatch.FleetDelivery> = {}
) =>
  Effect.gen(function*() {
    const servers: Record<string, Awaited<ReturnType<typeof recorder>>> = {}
    const env: Record<string, string> = {}
    const channels: Record<string, unknown> = {}
    for (const [name, answer] of Object.entries(answers)) {
      const server = yield* Effect.promise(() => recorder(answer))
      closes.push(server.close)
      servers[name] = server
      env[`URL_${name.toUpperCase()}`] = `${server.base}/hook/${TOKEN}`
      channels[name] = {
        kind: "webhook",
        urlEnv: `URL_${name.toUpperCase()}`,
        timeoutSeconds: 0.3,
        ...(fleet[name] === undefined ? {} : { fleet: fleet[name] })
      }
    }
    const settings = yield* settingsOf({ channels, retry: { attempts: 3, delaySeconds: 0.01 }, ...extra }, env, {
      core: ["a", "b"]
    })
    return { servers, settings }
  })

describe("delivery", () => {
  it.live("a server that answers 500 then 200: delivered on the second attempt, and recorded so", () =>
    Effect.gen(function*() {
      const { servers, settings } = yield* webhooks({ hook: [500, 200] })
      const notifier = yield* Dispatch.make(settings)
      yield* notifier.notify(completed("a"))
      expect(servers.hook?.received).toHaveLength(2)
      expect(servers.hook?.received[0]?.body).toBe(servers.hook?.received[1]?.body)
      const records = yield* (yield* Store).deliveries("run-a")
      expect(records.map(({ at: _, ...r }) => r)).toEqual([
        { subject: "run-a", channel: "hook", status: "delivered", attempts: 2 }
      ])
    }).pipe(Effect.provide(services(database()))))

  it.live("a server that never answers: each attempt times out, the delivery is recorded failed, the caller told which", () =>
    Effect.gen(function*() {
      const { servers, settings } = yield* webhooks({ silent: ["hang"], fine: [200] })
      const notifier = yield* Dispatch.make(settings)
      const started = Date.now()
      const error = yield* Effect.flip(notifier.notify(failed("a")))
      // 3 attempts of 0.3 s, and waits of 10 and 20 ms; the other channel was not held up.
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(error).toBeInstanceOf(NotifyError)
      expect(error).toMatchObject({
        notifier: "silent",
        message: "silent: no answer within 300ms after 3 attempt(s)"
      })
      expect(servers.silent?.received).toHaveLength(3)
      expect(servers.fine?.received).toHaveLength(1)
      const records = yield* (yield* Store).deliveries("run-a")
      expect(records.map((r) => [r.channel, r.status, r.attempts, r.error])).toEqual(
        expect.arrayContaining([["silent", "failed", 3, "no answer within 300ms"], ["fine", "delivered", 1, undefined]])
      )
      expectNoSecret([TOKEN], [error.message, JSON.stringify(records)])
    }).pipe(Effect.provide(services(database()))))

  it.live("an error answer is recorded with its status only", () =>
    Effect.gen(function*() {
      const { settings } = yield* webhooks({ hook: [503] })
      const notifier = yield* Dispatch.make(settings)
      yield* Effect.ignore(notifier.notify(notStarted("a")))
      // An account that did not start outside a fleet is recorded under its name.
      expect(yield* (yield* Store).deliveries("a")).toMatchObject([
        { channel: "hook", status: "failed", attempts: 3, error: "StatusCodeError: HTTP 503" }
      ])
    }).pipe(Effect.provide(services(database()))))
})

describe("fleet runs", () => {
  it.live("a digest channel gets one digest at the end in the fleet's order, and failures at once; an `each` channel every message", () =>
    Effect.gen(function*() {
      const { servers, settings } = yield* webhooks({ digest: [200], each: [200] }, {
        routes: [{ channels: ["digest"] }, { channels: ["each"], groups: ["core"] }]
      }, { each: "each" })
      const fleet = { id: "fleet-1", mode: "execute" as const, accounts: ["a", "b", "c", "d"] }
      yield* Effect.scoped(Effect.gen(function*() {
        const notifier = yield* Dispatch.make(settings, fleet)
        yield* notifier.notify(completed("c"))
        yield* Effect.ignore(notifier.notify(failed("b")))
        yield* notifier.notify(completed("a"))
        yield* notifier.notify(notStarted("d"))
        // Before the fleet ends: only the failures reached the digest channel.
        expect(servers.digest?.received.map((r) => (JSON.parse(r.body) as { _tag?: string })._tag ?? "Run")).toEqual([
          "Run",
          "NotStarted"
        ])
        // Routed by group: a and b only.
        expect(servers.each?.received.map((r) => (JSON.parse(r.body) as { account: string }).account)).toEqual([
          "b",
          "a"
        ])
      }))
      const received = servers.digest?.received ?? []
      expect(received).toHaveLength(3)
      const digest = JSON.parse(received[2]?.body ?? "null") as {
        readonly _tag: string
        readonly text: string
        readonly fleetId: string
        readonly notifications: ReadonlyArray<unknown>
      }
      expect(digest).toMatchObject({ _tag: "Digest", fleetId: "fleet-1", mode: "execute" })
      expect(digest.notifications).toHaveLength(4)
      expect(digest.text.split("\n")).toEqual([
        "Keel fleet execute: 2 of 4 account(s) completed",
        "fleet fleet-1",
        "a: completed; orders placed 4, filled 4; cash 100000 → 1991.94; drift 12.34% → 0.12%; report artifacts/run-a",
        "b: failed at sell-phase: broker: placeOrder failed: HTTP 503; orders placed 1, filled 0; cash 100000 → " +
        "1991.94; drift 12.34% → 0.12%; report artifacts/run-b",
        "c: completed; orders placed 4, filled 4; cash 100000 → 1991.94; drift 12.34% → 0.12%; report artifacts/run-c",
        "d: not started (input): targets.csv: weights sum to 1.2, expected 1"
      ])
      const store = yield* Store
      expect(yield* store.deliveries("fleet-1")).toMatchObject([
        { channel: "digest", status: "delivered" }, // d, at once
        { channel: "digest", status: "delivered" } // the digest
      ])
      // Each run shows the digest that carried it, and its own messages.
      expect((yield* store.deliveries("run-b")).map((r) => [r.channel, r.fleetId])).toEqual([
        ["digest", undefined],
        ["each", undefined],
        ["digest", "fleet-1"]
      ])
      expect((yield* store.deliveries("run-c")).map((r) => [r.channel, r.fleetId])).toEqual([["digest", "fleet-1"]])
      expectNoSecret([TOKEN], Object.values(servers).flatMap((s) => s.received.map((r) => r.body)))
    }).pipe(Effect.provide(services(database()))))
})
