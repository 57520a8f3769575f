/** ntfy against a real HTTP server on 127.0.0.1: method, headers and body as ntfy reads them, and no secret in them. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Dispatch from "../../../src/effects/notifier/dispatch.ts"
import { tempFiles } from "../store/fixtures.ts"
import { completed, expectNoSecret, failed, recorder, services, settingsOf } from "./fixtures.ts"

const TOPIC = "keel-alerts-SECRETtopic42"
const TOKEN = "tk_SECRETtoken777"
const database = tempFiles("keel-ntfy-")
const closes: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const close of closes) await close()
})

describe("ntfy", () => {
  it.live("POSTs the lines as text with title, priority, tags, click and the token; nothing secret elsewhere", () =>
    Effect.gen(function*() {
      const server = yield* Effect.promise(() => recorder([200]))
      closes.push(server.close)
      const settings = yield* settingsOf(
        { channels: { phone: { kind: "ntfy", urlEnv: "NTFY_URL", tokenEnv: "NTFY_TOKEN", tags: ["moneybag"] } } },
        { NTFY_URL: `${server.base}/${TOPIC}`, NTFY_TOKEN: TOKEN }
      )
      const notifier = yield* Dispatch.make(settings)
      yield* notifier.notify({ ...failed("acct-1"), reportUrl: "https://reports.example.test/run-acct-1" })
      yield* notifier.notify({ ...completed("Zürich"), artifacts: "artifacts/run-zurich" })

      const [alarm, calm] = server.received
      expect(server.received).toHaveLength(2)
      expect(alarm).toMatchObject({ method: "POST", url: `/${TOPIC}` })
      expect(alarm?.headers).toMatchObject({
        title: "Keel execute acct-1: failed at sell-phase",
        priority: "5",
        tags: "rotating_light,keel,moneybag",
        click: "https://reports.example.test/run-acct-1",
        authorization: `Bearer ${TOKEN}`,
        "content-type": "text/plain; charset=utf-8"
      })
      expect(alarm?.body.split("\n")).toEqual([
        "Keel execute acct-1 (run-acct-1) failed at sell-phase: broker: placeOrder failed: HTTP 503; orders placed 1, " +
        "filled 0, failed 1; cash 100000 → 1991.94",
        "drift 12.34% → 0.12%",
        "errors: broker",
        "report: https://reports.example.test/run-acct-1",
        "artifacts: artifacts/run-acct-1"
      ])
      // A title that is not ASCII travels RFC 2047 encoded, as ntfy reads it.
      expect(calm?.headers.title).toBe(
        `=?UTF-8?B?${Buffer.from("Keel execute Zürich: completed").toString("base64")}?=`
      )
      expect(calm?.headers).toMatchObject({ priority: "3", tags: "white_check_mark,keel,moneybag" })
      expect(calm?.headers.click).toBeUndefined()
      expect(calm?.body).toContain("artifacts: artifacts/run-zurich")

      // The token travels only where it must (Authorization); the topic only in the URL.
      const texts = server.received.flatMap((r) => [
        r.body,
        ...Object.entries(r.headers).filter(([k]) => k !== "authorization").map(([k, v]) => `${k}: ${String(v)}`)
      ])
      expectNoSecret([TOPIC, TOKEN], texts)
    }).pipe(Effect.provide(services(database()))))
})
