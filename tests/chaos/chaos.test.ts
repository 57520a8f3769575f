/**
 * The chaos suite's CI sample (`npm run chaos` runs any size): seeded paper sessions killed at every
 * step and at random times and then recovered twice, a quarter of them with the venue alone filling
 * during the outage; concurrent pairs on one account; Alpaca-emulator kills. Every count must be 0.
 * One suite runs once; each kind of session is judged by a test of its own, whose failure lists
 * each broken session with what was seen, and the command that reruns it alone.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { broke, rerun, type SessionResult, type SuiteReport } from "./report.ts"
import { runSuite } from "./suite.ts"

const SAMPLE = { seed: "ci", sessions: 40, pairs: 3, alpaca: 3, concurrency: 6 } as const

let report: SuiteReport
beforeAll(async () => {
  report = await runSuite(SAMPLE)
}, 300_000)

/** Each broken session's findings (or why it was not judged), with the command that reruns it. */
const broken = (results: ReadonlyArray<SessionResult>) =>
  Object.fromEntries(
    results.filter(broke).map((r) => [r.id, { rerun: rerun(report, r), found: r.error ?? r.findings.notes }])
  )

const ofKind = (kind: SessionResult["kind"]) => report.results.filter((r) => r.kind === kind)

describe("chaos sample", () => {
  it("uninterrupted runs (the baselines, and runs that ended before their kill) break nothing", () => {
    const uninterrupted = report.results.filter((r) => r.kind === "uninterrupted" || r.kill?.landed === "missed")
    expect(uninterrupted.length).toBeGreaterThan(0)
    expect(broken(uninterrupted)).toEqual({})
  })

  it("a killed paper run, recovered twice, leaves no duplicate, overspend, lost fill, open intent or running run", () => {
    const killed = ofKind("paper")
    expect(killed.length).toBe(SAMPLE.sessions)
    expect(killed.some((r) => r.outage !== undefined)).toBe(true)
    expect(broken(killed)).toEqual({})
  })

  it("of two runs started at once on one account, one executes and the other stops with exit 3 and the lease line", () => {
    expect(ofKind("pair").length).toBe(SAMPLE.pairs)
    expect(broken(ofKind("pair"))).toEqual({})
  })

  it("a run killed against the Alpaca emulator, which fills on through the outage, is recovered from its order book", () => {
    expect(ofKind("alpaca").length).toBe(SAMPLE.alpaca)
    expect(broken(ofKind("alpaca"))).toEqual({})
  })
})
