/**
 * The adapter's backoff (retries and stream reconnects): Effect's exponential Schedule, capped,
 * jittered by ±20% with Effect's Random, capped again, in whole milliseconds.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import { backoff } from "../../../../src/effects/broker/alpaca/backoff.ts"

const reconnect = { baseMillis: 500, maxDelayMillis: 30_000 }

/** The first `count` delays of the backoff, with every random draw `draw`. */
const delays = (count: number, draw: number) =>
  Effect.gen(function*() {
    const step = yield* Schedule.toStep(backoff(reconnect))
    const out: Array<number> = []
    for (let i = 0; i < count; i++) {
      const [, delay] = yield* Effect.orDie(step(0, undefined))
      out.push(Duration.toMillis(delay))
    }
    return out
  }).pipe(Effect.provideService(Random.Random, { nextIntUnsafe: () => 0, nextDoubleUnsafe: () => draw }))

describe("backoff", () => {
  it.effect("delays double from the base, jittered by ±20%, never above the cap", () =>
    Effect.gen(function*() {
      expect(yield* delays(10, 0.5)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000])
      expect((yield* delays(1, 0))[0]).toBe(400)
      expect((yield* delays(1, 0.999_999))[0]).toBe(600)
      expect((yield* delays(6, 0)).at(-1)).toBe(12_800)
      expect((yield* delays(6, 0.999_999)).at(-1)).toBe(19_200)
      expect((yield* delays(7, 0.999_999)).at(-1)).toBe(30_000)
    }))

  it.effect("a new step starts again from the base", () =>
    Effect.gen(function*() {
      expect(yield* delays(3, 0.5)).toEqual([500, 1_000, 2_000])
      expect(yield* delays(1, 0.5)).toEqual([500])
    }))
})
