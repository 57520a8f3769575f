/**
 * The account lease of a run (programs/run/lease.ts) on a real SQLite store: one holder at a
 * time, a dead holder on this host taken over at once, a live one waited for, a heartbeat that
 * keeps it, and the lease freed when the run's scope closes.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { TestClock } from "effect/testing"
import { spawnSync } from "node:child_process"
import * as Os from "node:os"
import { type LeaseHeld, Store, type StoreError } from "../../../src/effects/Store.ts"
import { storeLayer } from "../../../src/programs/layers.ts"
import { holdLease, leaseHeldMessage } from "../../../src/programs/run/lease.ts"
import { tempFiles } from "../../support/program.ts"

const files = tempFiles("keel-lease-")

const SETTINGS = { ttl: Duration.seconds(30), wait: Duration.zero }

/** The pid of a process that has exited: nothing on this host has it any more (for now). */
const deadPid = (): number => {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" })
  return Number(child.stdout)
}

/** The LeaseHeld a refused attempt failed with (any other failure fails the test). */
const refusal = <R>(attempt: Effect.Effect<unknown, LeaseHeld | StoreError, R>) =>
  Effect.flatMap(Effect.flip(attempt), (e) => (e._tag === "LeaseHeld" ? Effect.succeed(e) : Effect.die(e)))

const withStore = <A, E>(effect: Effect.Effect<A, E, Store>) => Effect.provide(effect, storeLayer(files.freshFile()))

describe("holdLease", () => {
  it.effect("one holder at a time: a second run finds it held, named in one line; freed when the first ends", () =>
    withStore(Effect.gen(function*() {
      const store = yield* Store
      yield* Effect.scoped(Effect.gen(function*() {
        const lease = yield* holdLease("demo", "run-a", SETTINGS)
        expect(lease).toMatchObject({ account: "demo", runId: "run-a" })
        const held = yield* refusal(Effect.scoped(holdLease("demo", "run-b", SETTINGS)))
        expect(leaseHeldMessage(held)).toMatch(
          new RegExp(
            `^account demo is being rebalanced by run run-a since \\d\\d:\\d\\d:\\d\\d \\(pid ${process.pid}\\)$`
          )
        )
        // Another account is not blocked.
        yield* holdLease("other", "run-c", SETTINGS)
      }))
      expect(yield* store.leaseHolder("demo")).toEqual(Option.none())
      const next = yield* Effect.scoped(holdLease("demo", "run-b", SETTINGS))
      expect(next.runId).toBe("run-b")
    })))

  it.effect("a holder whose process is gone on this host is taken over at once, with a higher token", () =>
    withStore(Effect.gen(function*() {
      const store = yield* Store
      const dead = yield* store.acquireLease({
        account: "demo",
        runId: "crashed",
        pid: deadPid(),
        host: Os.hostname(),
        at: 0,
        ttlMillis: 3_600_000
      })
      const lease = yield* Effect.scoped(holdLease("demo", "run-b", SETTINGS))
      expect(lease.runId).toBe("run-b")
      expect(lease.token).toBeGreaterThan(dead.token)
    })))

  it.effect("a live holder on another host is waited for with `wait`, and the lease taken once it expires", () =>
    withStore(Effect.gen(function*() {
      const store = yield* Store
      yield* store.acquireLease({
        account: "demo",
        runId: "remote",
        pid: 1,
        host: "elsewhere",
        at: 0,
        ttlMillis: 5_000
      })
      const refused = yield* refusal(Effect.scoped(holdLease("demo", "run-b", SETTINGS)))
      expect(leaseHeldMessage(refused)).toContain("(pid 1 on elsewhere)")
      const fiber = yield* Effect.forkChild(
        Effect.scoped(holdLease("demo", "run-b", { ...SETTINGS, wait: Duration.seconds(10) }))
      )
      yield* TestClock.adjust("6 seconds")
      const lease = yield* Fiber.join(fiber)
      expect(lease.runId).toBe("run-b")
    })))

  it.effect("the heartbeat keeps a lease alive past its time to live for as long as the run lasts", () =>
    withStore(Effect.gen(function*() {
      const store = yield* Store
      yield* Effect.scoped(Effect.gen(function*() {
        yield* holdLease("demo", "run-a", { ttl: Duration.seconds(3), wait: Duration.zero })
        yield* TestClock.adjust("10 seconds")
        const holder = yield* store.leaseHolder("demo")
        expect(Option.map(holder, (h) => [h.runId, h.expiresAt > 10_000])).toEqual(Option.some(["run-a", true]))
      }))
    })))
})
