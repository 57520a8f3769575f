/**
 * The Notifier a run talks to: it routes each notification to its channels (routing.ts), delivers
 * it to each with retries (delivery.ts), and records every delivery in the Store, so `status` can
 * show it. In a fleet run, a channel that takes digests gets one message when the fleet ends (when
 * the Layer's scope closes) with every account routed to it; an account that failed is also sent
 * at once. `notify` fails only to say which channels could not be reached (the run turns that
 * into a warning); a Digest given to `notify` is routed account by account and sent at once.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { type Digest, type Message, type Notification, Notifier, NotifyError } from "../Notifier.ts"
import { type DeliveryRecord, type RunMode, Store } from "../Store.ts"
import { type Channel, deliver, type Delivery, type Retry } from "./delivery.ts"
import { accountOf, channelsFor, type Groups, type Route, severityOf } from "./routing.ts"

/** What a channel gets in a fleet run: one digest at the end (failures at once too), or each account's message. */
export const FleetDelivery = Schema.Literals(["digest", "each"])
export type FleetDelivery = typeof FleetDelivery.Type

export interface DispatchChannel extends Channel {
  readonly fleet: FleetDelivery
}

export interface DispatchSettings {
  readonly channels: ReadonlyArray<DispatchChannel>
  /** None: every channel hears everything. */
  readonly routes: ReadonlyArray<Route> | undefined
  readonly groups: Groups
  readonly retry: Retry
}

/** The fleet run being notified: its id (the digest's subject), its mode, and its accounts in the order of its digest. */
export interface Fleet {
  readonly id: string
  readonly mode: RunMode
  readonly accounts: ReadonlyArray<string>
}

/** The Store's records of a message's deliveries (see DeliveryRecord for the subjects). */
const recordsOf = (message: Message, fleetId: string | undefined, deliveries: ReadonlyArray<Delivery>, at: number) => {
  const subjects: ReadonlyArray<{ readonly subject: string; readonly fleetId?: string }> = message._tag === "Run"
    ? [{ subject: message.summary.runId }]
    : message._tag === "NotStarted"
    ? [{ subject: fleetId ?? message.account }]
    : [
      { subject: message.fleetId },
      ...message.notifications.flatMap((n) =>
        n._tag === "Run" ? [{ subject: n.summary.runId, fleetId: message.fleetId }] : []
      )
    ]
  return deliveries.flatMap((d) =>
    subjects.map((s): DeliveryRecord => ({
      ...s,
      channel: d.channel,
      status: d.status,
      attempts: d.attempts,
      ...(d.error === undefined ? {} : { error: d.error }),
      at
    }))
  )
}

/** The channels that failed, in one NotifyError. */
const failure = (deliveries: ReadonlyArray<Delivery>): Effect.Effect<void, NotifyError> => {
  const failed = deliveries.filter((d) => d.status === "failed")
  if (failed.length === 0) return Effect.void
  return Effect.fail(
    new NotifyError({
      notifier: failed.map((d) => d.channel).join(", "),
      message: failed.map((d) => `${d.channel}: ${d.error ?? "failed"} after ${d.attempts} attempt(s)`).join("; ")
    })
  )
}

export const make = (settings: DispatchSettings, fleet?: Fleet) =>
  Effect.gen(function*() {
    const store = yield* Store
    const names = settings.channels.map((c) => c.name)
    const position = new Map(fleet?.accounts.map((account, i) => [account, i]))
    const routed = (n: Notification) => {
      const chosen = channelsFor(settings.routes, settings.groups, names, n)
      return settings.channels.filter((c) => chosen.includes(c.name))
    }

    /** Delivers to every channel at once and records the deliveries. */
    const send = (channels: ReadonlyArray<Channel>, message: Message) =>
      Effect.gen(function*() {
        if (channels.length === 0) return []
        const deliveries = yield* Effect.forEach(channels, (c) => deliver(c, message, settings.retry), {
          concurrency: "unbounded"
        })
        const at = yield* Clock.currentTimeMillis
        yield* store.saveDeliveries(recordsOf(message, fleet?.id, deliveries, at)).pipe(
          Effect.catch((e) => Effect.logWarning(`notification deliveries not recorded: ${e.message}`))
        )
        return deliveries
      })

    /** To each of `channels`, one digest of the notifications routed to it, in the fleet's account order. */
    const sendDigests = (
      channels: ReadonlyArray<DispatchChannel>,
      fleetId: string,
      mode: RunMode,
      notifications: ReadonlyArray<Notification>
    ) => {
      const order = (n: Notification) => position.get(accountOf(n)) ?? Number.MAX_SAFE_INTEGER
      const sorted = [...notifications].sort((a, b) => order(a) - order(b))
      return Effect.forEach(channels, (channel) => {
        const mine = sorted.filter((n) => routed(n).includes(channel))
        const digest: Digest = { _tag: "Digest", fleetId, mode, notifications: mine }
        return mine.length === 0 ? Effect.succeed([]) : send([channel], digest)
      }, { concurrency: "unbounded" }).pipe(Effect.flatMap((sent) => failure(sent.flat())))
    }

    const digested = yield* Ref.make<ReadonlyArray<Notification>>([])

    const notifyOne = (n: Notification) => {
      const channels = routed(n)
      if (fleet === undefined) return Effect.flatMap(send(channels, n), failure)
      const atOnce = channels.filter((c) => c.fleet === "each" || severityOf(n) === "error")
      return Ref.update(digested, (all) => [...all, n]).pipe(
        Effect.andThen(send(atOnce, n)),
        Effect.flatMap(failure)
      )
    }

    if (fleet !== undefined) {
      const digesting = settings.channels.filter((c) => c.fleet === "digest")
      yield* Effect.addFinalizer(() =>
        Ref.get(digested).pipe(
          Effect.flatMap((all) => sendDigests(digesting, fleet.id, fleet.mode, all)),
          Effect.ignore
        )
      )
    }

    return Notifier.of({
      notify: (message) =>
        message._tag === "Digest"
          ? sendDigests(settings.channels, message.fleetId, message.mode, message.notifications)
          : notifyOne(message)
    })
  })

/** The dispatcher as the Notifier; with `fleet`, the digests go out when the Layer is released. */
export const layer = (settings: DispatchSettings, fleet?: Fleet): Layer.Layer<Notifier, never, Store> =>
  Layer.effect(Notifier)(make(settings, fleet))
