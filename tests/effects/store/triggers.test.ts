/**
 * The triggers table: a trigger's idempotency key is claimed once, ever. The first claim is
 * recorded; a later one with the same key (even after the database is closed and opened again,
 * as a restarted service does) gets the first one back and records nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as SqlClient from "effect/sql/SqlClient"
import { Store, type TriggerRecord } from "../../../src/effects/Store.ts"
import { onFile, tempFiles } from "./fixtures.ts"

const freshFile = tempFiles("keel-store-triggers-")

const trigger = (key: string, fleetId: string): TriggerRecord => ({
  key,
  fleetId,
  accounts: ["alice", "bob"],
  reason: "strategy X published 2026-03-09",
  receivedAt: 1_773_000_000_000
})

const claim = (record: TriggerRecord) => Store.use((store) => store.claimTrigger(record))

describe("claimTrigger", () => {
  it.effect("records a key once; the same key again, also after reopening, returns the first and writes nothing", () =>
    Effect.gen(function*() {
      const file = freshFile()
      expect(yield* onFile(file, claim(trigger("k-1", "fleet-1")))).toStrictEqual({ _tag: "First" })
      const again = yield* onFile(file, claim(trigger("k-1", "fleet-2")))
      expect(again).toStrictEqual({ _tag: "Repeated", first: trigger("k-1", "fleet-1") })
      expect(yield* onFile(file, claim(trigger("k-2", "fleet-3")))).toStrictEqual({ _tag: "First" })
      const rows = yield* onFile(
        file,
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) =>
            sql<{ idempotency_key: string; fleet_id: string }>`SELECT idempotency_key, fleet_id FROM triggers
            ORDER BY idempotency_key`
        )
      )
      expect(rows.map((r) => [r.idempotency_key, r.fleet_id])).toEqual([["k-1", "fleet-1"], ["k-2", "fleet-3"]])
    }))

  it.effect("two claims of one key at once: exactly one is first", () =>
    Effect.gen(function*() {
      const file = freshFile()
      const claims = yield* onFile(
        file,
        Effect.all([claim(trigger("k", "fleet-a")), claim(trigger("k", "fleet-b"))], { concurrency: 2 })
      )
      expect(claims.map((c) => c._tag).sort()).toEqual(["First", "Repeated"])
    }))
})
