/**
 * A chaos suite: every session of (seed, size), or the one `only` names, run `concurrency` at a
 * time, each in its own directory under one temp root (removed at the end unless `keep`). The
 * baselines the sessions used are reported with them, as the uninterrupted sessions.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { alpacaBaselines, alpacaSession } from "./alpacaSessions.ts"
import { NO_FINDINGS } from "./invariants.ts"
import { pairSession } from "./pairs.ts"
import { paperSession } from "./paperSessions.ts"
import type { SessionResult, SuiteReport } from "./report.ts"
import { type Scenario, scenarioById, scenarios, type SuiteSize } from "./scenarios.ts"
import { templates } from "./templates.ts"

export interface SuiteOptions extends SuiteSize {
  readonly seed: string
  /** Sessions run at once. */
  readonly concurrency: number
  /** One session id (`paper-0007`): run it alone. */
  readonly only?: string | undefined
  /** Keep the session directories (their path is in the report's results). */
  readonly keep?: boolean
  /** Called as each session ends. */
  readonly onResult?: (result: SessionResult) => void
}

/** Runs `run` over `items`, at most `limit` at a time; results in the items' order. */
const inParallel = async <A, B>(items: ReadonlyArray<A>, limit: number, run: (item: A) => Promise<B>) => {
  const results: Array<B> = []
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await run(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  return results
}

/** A session that could not be judged: its setup failed, or the harness did. */
const notJudged = (scenario: Scenario, error: unknown): SessionResult => ({
  id: scenario.id,
  kind: scenario.kind,
  portfolio: scenario.portfolio,
  exits: [],
  findings: NO_FINDINGS,
  error: error instanceof Error ? error.message : String(error)
})

/** The sessions `options` asks for; an unknown `only` is an Error naming the kinds. */
const chosen = (options: SuiteOptions): ReadonlyArray<Scenario> => {
  if (options.only === undefined) return scenarios(options.seed, options)
  const one = scenarioById(options.seed, options.only)
  if (one === undefined) {
    throw new Error(`--only: expected a session id (paper-0001, pair-001, alpaca-001), got ${options.only}`)
  }
  return [one]
}

export const runSuite = async (options: SuiteOptions): Promise<SuiteReport> => {
  const list = chosen(options)
  const started = performance.now()
  const root = mkdtempSync(join(tmpdir(), "keel-chaos-"))
  const template = templates(root, options.seed)
  const alpacaBaseline = alpacaBaselines(root, options.seed)

  const run = (scenario: Scenario): Promise<SessionResult> => {
    switch (scenario.kind) {
      case "paper":
        return template(scenario.portfolio).then((t) => paperSession(scenario, root, t))
      case "pair":
        return template(scenario.portfolio).then((t) => pairSession(scenario, root, t))
      case "alpaca":
        return alpacaBaseline(scenario.portfolio).then((b) => alpacaSession(scenario, root, options.seed, b))
    }
  }
  try {
    const results = await inParallel(list, options.concurrency, async (scenario) => {
      const result = await run(scenario).catch((error: unknown) => notJudged(scenario, error))
      options.onResult?.(result)
      return result
    })
    const paperPortfolios = [...new Set(list.filter((s) => s.kind !== "alpaca").map((s) => s.portfolio))]
    const alpacaPortfolios = [...new Set(list.filter((s) => s.kind === "alpaca").map((s) => s.portfolio))]
    const baselines = await Promise.all([
      ...paperPortfolios.map((i) => template(i).then((t) => t.baseline.result, () => undefined)),
      ...alpacaPortfolios.map((i) => alpacaBaseline(i).then((b) => b.result, () => undefined))
    ])
    return {
      seed: options.seed,
      seconds: (performance.now() - started) / 1000,
      root: options.keep === true ? root : undefined,
      results: [...baselines.filter((b) => b !== undefined), ...results]
    }
  } finally {
    if (options.keep !== true) rmSync(root, { recursive: true, force: true })
  }
}
