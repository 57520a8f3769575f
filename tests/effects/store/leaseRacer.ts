/**
 * One of several processes racing for account leases in one store, for leases.test.ts:
 * `leaseRacer.ts FILE RUN_ID START_AT ACCOUNTS [reverse]`. It opens the store (migrating a new
 * file as the others may at the same moment), waits until START_AT (epoch ms), asks for the
 * leases of acct-0 … acct-<ACCOUNTS - 1> (last to first with `reverse`, so two racers meet in the
 * middle), and prints the ones it won as JSON: [{ account, token }].
 */
import * as Effect from "effect/Effect"
import * as Os from "node:os"
import { Store } from "../../../src/effects/Store.ts"
import * as SqliteStore from "../../../src/effects/store/sqlite.ts"

const [file = "", runId = "", startAt = "0", accounts = "0", order = ""] = process.argv.slice(2)
const indexes = Array.from({ length: Number(accounts) }, (_, i) => i)

const program = Effect.gen(function*() {
  const store = yield* Store
  yield* Effect.sleep(Math.max(0, Number(startAt) - Date.now()))
  const won: Array<{ readonly account: string; readonly token: number }> = []
  for (const i of order === "reverse" ? indexes.reverse() : indexes) {
    const request = { account: `acct-${i}`, runId, pid: process.pid, host: Os.hostname(), ttlMillis: 60_000 }
    const lease = yield* store.acquireLease({ ...request, at: Date.now() }).pipe(
      Effect.map((lease) => ({ account: lease.account, token: lease.token })),
      Effect.catchTag("LeaseHeld", () => Effect.succeed(undefined))
    )
    if (lease !== undefined) won.push(lease)
  }
  process.stdout.write(JSON.stringify(won))
}).pipe(Effect.provide(SqliteStore.layer({ filename: file })))

Effect.runPromise(program).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`)
  process.exitCode = 1
})
