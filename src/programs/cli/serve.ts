/**
 * `rebalance serve`: the long-running service keel.yaml's `serve:` and `schedules:` describe
 * (serve/service.ts). A config it cannot serve (no serve block, a schedule naming an unknown
 * account, a secret missing from the environment, an address it cannot listen on) is one line on
 * stderr, exit 2, before anything starts. Stopped by SIGTERM or SIGINT, it shuts down gracefully
 * and exits 0.
 */
import { Command } from "effect/cli"
import * as Effect from "effect/Effect"
import { loadConfig } from "../config.ts"
import { servePlan } from "../serve/plan.ts"
import { serveService } from "../serve/service.ts"
import { configFlag } from "./flags.ts"
import { exitOnSignal, listenForSignals } from "./signals.ts"

export const serveCommand = Command.make("serve", { config: configFlag }, (flags) =>
  Effect.gen(function*() {
    const loaded = yield* loadConfig(flags.config)
    const plan = yield* servePlan(loaded)
    yield* Effect.scoped(Effect.andThen(listenForSignals, serveService(loaded, plan)))
  }).pipe(Effect.onInterrupt(() => exitOnSignal))).pipe(
    Command.withDescription(
      "Serve keel.yaml's schedules and signed HTTP triggers, with read endpoints for runs and accounts"
    )
  )
