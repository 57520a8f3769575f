/** keel.yaml's `notifications:` block: refused in one line naming the field, secrets never shown. */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { services, settingsOf } from "./fixtures.ts"

const env = { HOOK_URL: "https://hooks.example.test/SECRET-hook", SMTP_PASSWORD: "pw-SECRET" }
const hook = { kind: "webhook", urlEnv: "HOOK_URL" }

const problem = (block: unknown, groups = {}) =>
  Effect.flip(settingsOf(block, env, groups)).pipe(Effect.map((e) => e.message))

describe("notifications config", () => {
  it.effect("defaults: 3 attempts 2 s then 4 s apart, digests in a fleet, every channel hearing everything", () =>
    Effect.gen(function*() {
      const settings = yield* settingsOf({ channels: { chat: hook } }, env)
      expect(settings.retry.attempts).toBe(3)
      expect(Duration.toMillis(settings.retry.delay)).toBe(2_000)
      expect(settings.routes).toBeUndefined()
      expect(settings.channels.map((c) => [c.name, c.fleet])).toEqual([["chat", "digest"]])
    }).pipe(Effect.provide(services(":memory:"))))

  it.effect("routes name declared channels and groups; email credentials come in pairs; an unknown kind is named", () =>
    Effect.gen(function*() {
      expect(yield* problem({ channels: { chat: hook }, routes: [{ channels: ["chat", "phone"] }] })).toBe(
        `keel.yaml: notifications.routes[0].channels[1]: expected one of "chat", got "phone"`
      )
      expect(
        yield* problem({ channels: { chat: hook }, routes: [{ channels: ["chat"], groups: ["core"] }] }, {
          growth: ["a"]
        })
      ).toBe(`keel.yaml: notifications.routes[0].groups[0]: expected one of "growth", got "core"`)
      const email = { kind: "email", host: "smtp.example.test", from: "k@example.test", to: ["o@example.test"] }
      expect(yield* problem({ channels: { ops: { ...email, passwordEnv: "SMTP_PASSWORD" } } })).toBe(
        "keel.yaml: notifications.channels.ops.userEnv and passwordEnv: expected both or neither"
      )
      expect(yield* problem({ channels: { ops: { kind: "pager" } } })).toContain(
        `"email" or "ntfy" or "slack" or "webhook"`
      )
      // A URL pasted where its variable's name belongs is refused without being shown.
      const pasted = yield* problem({ channels: { chat: { kind: "slack", urlEnv: env.HOOK_URL } } })
      expect(pasted).not.toContain("SECRET")
      expect(pasted).toContain("urlEnv")
    }).pipe(Effect.provide(services(":memory:"))))
})
