/**
 * One message to one channel: retried with exponential backoff (effect's Schedule) until it is
 * delivered or the attempts are spent, each attempt bounded by the channel's own timeout. It never
 * fails: the outcome, with the attempts made and the last error scrubbed of the channel's secrets,
 * is returned for the Store and the caller.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type { Message, NotifierShape } from "../Notifier.ts"
import { scrub } from "../secrets.ts"
import type { DeliveryStatus } from "../Store.ts"

/** How often a delivery is tried: `attempts` in all (≥ 1), waiting `delay`, then twice as long each time. */
export interface Retry {
  readonly attempts: number
  readonly delay: Duration.Duration
}

/** A channel as the dispatcher knows it: its name in keel.yaml, its notifier, and the secrets its errors must not show. */
export interface Channel {
  readonly name: string
  readonly notifier: NotifierShape
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
}

export interface Delivery {
  readonly channel: string
  readonly status: DeliveryStatus
  readonly attempts: number
  /** The last attempt's error, without secrets; absent when delivered. */
  readonly error?: string
}

export const deliver = (channel: Channel, message: Message, retry: Retry): Effect.Effect<Delivery> =>
  Effect.gen(function*() {
    const attempts = yield* Ref.make(0)
    const outcome = yield* Ref.update(attempts, (n) => n + 1).pipe(
      Effect.andThen(channel.notifier.notify(message)),
      Effect.retry({ schedule: Schedule.exponential(retry.delay), times: retry.attempts - 1 }),
      Effect.result
    )
    const made = yield* Ref.get(attempts)
    if (outcome._tag === "Success") return { channel: channel.name, status: "delivered", attempts: made }
    const secrets = channel.secrets.map(Redacted.value)
    return {
      channel: channel.name,
      status: "failed",
      attempts: made,
      error: scrub(outcome.failure.message, secrets, { minLength: 1 })
    }
  })
