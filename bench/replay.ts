/**
 * Replay benchmark: how long `rebalance replay` takes per recorded session, against the
 * time the session took when it was recorded. `npm run bench:replay` prints a table;
 * `-- --json` prints `{ "sessions": [ { name, recordedMs, medianMs, runs } ] }`.
 *
 * Each session replays in-process (the same `replaySession` the CLI runs), several times;
 * the median is reported. Waiting is virtual, so a session that waited seconds for fills
 * should replay in milliseconds.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { readSession, replaySession } from "../src/programs/cli/replay.ts"

const RUNS = 15
const dir = fileURLToPath(new URL("../tests/fixtures/sessions", import.meta.url))

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const results: Array<{ name: string; recordedMs: number; medianMs: number; runs: number; identical: boolean }> = []
for (const file of readdirSync(dir).filter((f) => f.endsWith(".jsonl")).sort()) {
  const session = await Effect.runPromise(readSession(join(dir, file)).pipe(Effect.provide(NodeServices.layer)))
  const times: Array<number> = []
  let identical = true
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now()
    const report = await Effect.runPromise(replaySession(session))
    times.push(performance.now() - start)
    identical &&= report.identical
  }
  const recordedMs = Math.max(
    0,
    ...session.calls.map((c) => c.t),
    ...session.updates.map((u) => u.t),
    session.outcome?.t ?? 0
  )
  results.push({
    name: file.replace(/\.jsonl$/, ""),
    recordedMs,
    medianMs: Math.round(median(times) * 10) / 10,
    runs: RUNS,
    identical
  })
}

if (process.argv.includes("--json")) console.log(JSON.stringify({ sessions: results }, null, 2))
else {
  console.log("session                      recorded   replay (median)  identical")
  for (const r of results) {
    console.log(
      `${r.name.padEnd(28)} ${`${r.recordedMs} ms`.padStart(9)} ${`${r.medianMs} ms`.padStart(16)}  ${r.identical}`
    )
  }
}
