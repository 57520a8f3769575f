/** The Slack-compatible webhook against a real HTTP server on 127.0.0.1: `{ text, blocks? }` as Slack reads it. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Dispatch from "../../../src/effects/notifier/dispatch.ts"
import { tempFiles } from "../store/fixtures.ts"
import { completed, expectNoSecret, failed, notStarted, recorder, services, settingsOf } from "./fixtures.ts"

const HOOK = "/services/T0001/B0002/SECRETslackToken9"
const database = tempFiles("keel-slack-")
const closes: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const close of closes) await close()
})

interface SlackBody {
  readonly text: string
  readonly blocks?: ReadonlyArray<{ readonly type: string; readonly text: { readonly text: string } }>
}

/** A server for the webhook, and the dispatcher with its one `chat` channel. */
const slack = Effect.gen(function*() {
  const server = yield* Effect.promise(() => recorder([200]))
  closes.push(server.close)
  const settings = yield* settingsOf(
    { channels: { chat: { kind: "slack", urlEnv: "SLACK_URL" } } },
    { SLACK_URL: `${server.base}${HOOK}` }
  )
  return { server, notifier: yield* Dispatch.make(settings) }
})

describe("slack", () => {
  it.live("a run: text with the whole message, a header and a section block; Slack's <, > and & escaped", () =>
    Effect.gen(function*() {
      const { server, notifier } = yield* slack
      yield* notifier.notify(failed("a<b>&c"))
      yield* notifier.notify(notStarted("d"))
      const [run, unstarted] = server.received.map((r) => JSON.parse(r.body) as SlackBody)
      expect(run?.text.split("\n")[0]).toBe("Keel execute a&lt;b&gt;&amp;c: failed at sell-phase")
      expect(run?.blocks?.map((b) => b.type)).toEqual(["header", "section"])
      expect(run?.blocks?.[0]?.text.text).toBe("Keel execute a<b>&c: failed at sell-phase")
      expect(run?.blocks?.[1]?.text.text).toContain("drift 12.34% → 0.12%\nerrors: broker\nartifacts: artifacts/run-a")
      expect(unstarted?.text).toBe(
        "Keel execute d: not started (input)\ntargets.csv: weights sum to 1.2, expected 1"
      )
      for (const r of server.received) {
        expect(r).toMatchObject({ method: "POST", url: HOOK })
        expect(r.headers["content-type"]).toMatch(/^application\/json/)
      }
      expectNoSecret([HOOK], server.received.flatMap((r) => [r.body, JSON.stringify(r.headers)]))
    }).pipe(Effect.provide(services(database()))))

  it.live("a digest too large for Slack's blocks arrives as text alone", () =>
    Effect.gen(function*() {
      const { server, notifier } = yield* slack
      const small = Array.from({ length: 3 }, (_, i) => completed(`acct-${i}`))
      const large = Array.from({ length: 1500 }, (_, i) => completed(`acct-${i}`))
      yield* notifier.notify({ _tag: "Digest", fleetId: "fleet-1", mode: "execute", notifications: small })
      yield* notifier.notify({ _tag: "Digest", fleetId: "fleet-2", mode: "execute", notifications: large })
      const [few, many] = server.received.map((r) => JSON.parse(r.body) as SlackBody)
      expect(few?.blocks?.[0]?.text.text).toBe("Keel fleet execute: 3 of 3 account(s) completed")
      expect(few?.blocks?.[1]?.text.text.split("\n")).toHaveLength(4)
      expect(many?.blocks).toBeUndefined()
      expect(many?.text.length).toBeLessThanOrEqual(40_000)
      expect(many?.text.startsWith("Keel fleet execute: 1500 of 1500 account(s) completed\nfleet fleet-2\n")).toBe(true)
    }).pipe(Effect.provide(services(database()))))
})
