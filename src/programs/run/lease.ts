/**
 * The account lease of a run: one writer per account.
 *
 * A run takes its account's lease in the Store before it reads anything, renews it while it
 * runs, and frees it when it ends. A second run finds the lease held and stops (or waits). A
 * lease whose holder is dead is taken over: at once when the holder ran on this host and its
 * process is gone (a killed run), otherwise once its heartbeat has expired. The Store refuses
 * every write made under a lease that was taken over (a fencing token), so a run that lost its
 * lease writes nothing more.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Os from "node:os"
import { type Lease, LeaseHeld, type LeaseHolder, Store, type StoreError } from "../../effects/Store.ts"

/** How long a lease lives without a heartbeat, and how long a run waits for a held one. */
export interface LeaseSettings {
  readonly ttl: Duration.Input
  readonly wait: Duration.Input
}

/**
 * Defaults: a lease outlives a missed heartbeat or two (a run renews it every third of its
 * life) and a run that finds its account leased stops at once.
 */
export const LeaseDefaults: LeaseSettings = { ttl: Duration.seconds(30), wait: Duration.zero }

/** How often a run waiting for a held lease asks again. */
const RETRY_HELD = Duration.seconds(1)

/** The process holding a lease is known to be gone: it ran on this host and no process has its pid. */
export const isGone = (holder: LeaseHolder): boolean => {
  if (holder.host !== Os.hostname() || holder.pid === process.pid) return false
  try {
    process.kill(holder.pid, 0)
    return false
  } catch (e) {
    // EPERM: a process of another user has the pid, so it is alive.
    return (e as { readonly code?: string }).code === "ESRCH"
  }
}

/** One attempt: the lease, taking it over from a holder whose process is gone. */
const attempt = (account: string, runId: string, ttlMillis: number) =>
  Effect.gen(function*() {
    const store = yield* Store
    const request = { account, runId, pid: process.pid, host: Os.hostname(), ttlMillis }
    return yield* store.acquireLease({ ...request, at: yield* Clock.currentTimeMillis }).pipe(
      Effect.catchTag("LeaseHeld", (held) =>
        isGone(held.holder)
          ? Effect.flatMap(
            Clock.currentTimeMillis,
            (at) => store.acquireLease({ ...request, at, replacing: held.holder.runId })
          )
          : Effect.fail(held))
    )
  })

/** Tries again every RETRY_HELD while the lease is held, until `deadline` (epoch milliseconds). */
const untilDeadline = <R>(
  take: Effect.Effect<Lease, LeaseHeld | StoreError, R>,
  deadline: number
): Effect.Effect<Lease, LeaseHeld | StoreError, R> =>
  take.pipe(
    Effect.catchTag("LeaseHeld", (held) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        now + Duration.toMillis(RETRY_HELD) > deadline
          ? Effect.fail(held)
          : Effect.andThen(Effect.sleep(RETRY_HELD), untilDeadline(take, deadline))))
  )

/**
 * Takes the account's lease for a run, waiting up to `settings.wait` while another live run
 * holds it; renews it in the background for as long as the scope lasts, and frees it when the
 * scope closes. A heartbeat that fails is left to the fencing: the next write says so.
 */
export const holdLease = (
  account: string,
  runId: string,
  settings: LeaseSettings
): Effect.Effect<Lease, LeaseHeld | StoreError, Store | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* Store
    const ttl = Duration.fromInputUnsafe(settings.ttl)
    const ttlMillis = Duration.toMillis(ttl)
    const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(Duration.fromInputUnsafe(settings.wait))
    const lease = yield* untilDeadline(attempt(account, runId, ttlMillis), deadline)
    yield* Effect.addFinalizer(() => store.releaseLease(lease).pipe(Effect.ignore))
    yield* Effect.flatMap(Clock.currentTimeMillis, (at) => store.renewLease(lease, at, ttlMillis)).pipe(
      Effect.ignore,
      Effect.repeat(Schedule.spaced(Duration.divideUnsafe(ttl, 3))),
      Effect.forkScoped
    )
    return lease
  })

/** `account demo is being rebalanced by run R since 10:31:02 (pid 4711)`: what a run that finds its account leased says. */
export const leaseHeldMessage = (held: LeaseHeld): string => {
  const { holder } = held
  const since = new Date(holder.acquiredAt).toISOString().slice(11, 19)
  const where = holder.host === Os.hostname() ? `pid ${holder.pid}` : `pid ${holder.pid} on ${holder.host}`
  return `account ${holder.account} is being rebalanced by run ${holder.runId} since ${since} (${where})`
}
