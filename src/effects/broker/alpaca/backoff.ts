/**
 * The one backoff of the Alpaca adapter, for retried requests and stream reconnects: Effect's
 * exponential Schedule from `baseMillis` (doubling), each delay capped at `maxDelayMillis`,
 * jittered by ±20% (Effect's Random) and capped again, in whole milliseconds.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

export interface BackoffSettings {
  /** The first delay (before jitter). */
  readonly baseMillis: number
  readonly maxDelayMillis: number
}

export const backoff = (settings: BackoffSettings): Schedule.Schedule<Duration.Duration> => {
  const capped = Schedule.modifyDelay<Duration.Duration, unknown>(({ duration }) =>
    Effect.succeed(Duration.millis(Math.min(Math.round(Duration.toMillis(duration)), settings.maxDelayMillis)))
  )
  return Schedule.exponential(Duration.millis(settings.baseMillis)).pipe(capped, Schedule.jittered, capped)
}
