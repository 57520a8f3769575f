/**
 * `rebalance demo`: the bundled paper account (examples/keel.yaml), a preview and then an
 * execution, printed one after the other. Its store lives in ./.keel/keel.db, so a second
 * demo continues from the first, like a real paper account.
 */
import { Command } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { runAccount, RunNotCompleted } from "./run.ts"

/** The same relative path from src/programs and dist/programs. */
export const bundledConfig = (): string => fileURLToPath(new URL("../../../examples/keel.yaml", import.meta.url))

export const demoCommand = Command.make("demo", {}, () =>
  Effect.gen(function*() {
    const config = bundledConfig()
    yield* Console.log(`Demo: the paper account "demo" from ${config}\n\n== Preview ==`)
    yield* runAccount({ config, account: "demo", execute: false, json: false, ignoreMarketHours: true })
    yield* Console.log("\n== Execute ==")
    const outcome = yield* runAccount({ config, account: "demo", execute: true, json: false, ignoreMarketHours: true })
    if (outcome.run.status !== "completed") return yield* new RunNotCompleted({ status: outcome.run.status })
  })).pipe(Command.withDescription("Preview, then execute, a rebalance of the bundled paper account"))
