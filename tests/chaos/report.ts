/**
 * What a suite found: one result per session, a summary table for people (stderr) and one JSON
 * object for machines (stdout with `--json`). Every violation names its sessions, and the seed with
 * `--only` reruns one of them alone.
 */
import { combine, type Counts, type Findings, type Invariant, INVARIANT_NAMES, INVARIANTS } from "./invariants.ts"
import type { Kill } from "./killPoints.ts"

/** Uninterrupted: a portfolio's baseline; the others are the scenarios' kinds. */
export const SESSION_KINDS = ["uninterrupted", "paper", "pair", "alpaca"] as const
export type SessionKind = (typeof SESSION_KINDS)[number]

export interface SessionResult {
  readonly id: string
  readonly kind: SessionKind
  readonly portfolio: number
  readonly kill?: KillReport
  /** What ran during the outage. */
  readonly outage?: string
  /** Each process's exit, in order. */
  readonly exits: ReadonlyArray<string>
  readonly findings: Findings
  /** Why the session could not be judged (its portfolio's setup failed). */
  readonly error?: string
}

export interface SuiteReport {
  readonly seed: string
  readonly seconds: number
  /** Where the session directories were kept (`--keep`). */
  readonly root?: string | undefined
  readonly results: ReadonlyArray<SessionResult>
}

/** Where a run was to be killed, and where the kill landed: the step the run had stored, or `missed`. */
export interface KillReport {
  readonly planned: string
  readonly landed: string
}

export const killReport = (kill: Kill): KillReport => ({
  planned: kill.point.at === "step" ? kill.point.step : `${kill.point.seconds}s`,
  landed: kill.missed ? "missed" : (kill.step ?? "before its run was stored")
})

/** Where kills landed, for the summary: step (or "missed") → how many. */
const killsLanded = (results: ReadonlyArray<SessionResult>): ReadonlyMap<string, number> => {
  const landed = new Map<string, number>()
  for (const r of results) {
    if (r.kill !== undefined) landed.set(r.kill.landed, (landed.get(r.kill.landed) ?? 0) + 1)
  }
  return landed
}

const countsOf = (results: ReadonlyArray<SessionResult>): Counts => combine(...results.map((r) => r.findings)).counts

/** Invariant → the sessions that broke it. */
export const violations = (report: SuiteReport): Partial<Record<Invariant, ReadonlyArray<string>>> =>
  Object.fromEntries(INVARIANTS.flatMap((name) => {
    const ids = report.results.filter((r) => r.findings.counts[name] > 0).map((r) => r.id)
    return ids.length === 0 ? [] : [[name, ids]]
  }))

const errors = (report: SuiteReport) => report.results.filter((r) => r.error !== undefined)

/** Whether a session broke anything, or could not be judged. */
export const broke = (result: SessionResult): boolean =>
  result.error !== undefined || INVARIANTS.some((name) => result.findings.counts[name] > 0)

/** The first session that broke anything (a killed one rather than a baseline); call only when the suite failed. */
const firstBroken = (report: SuiteReport): SessionResult => {
  const broken = report.results.filter(broke)
  const first = broken.find((r) => r.kind !== "uninterrupted") ?? broken[0]
  if (first === undefined) throw new Error("firstBroken: nothing broke")
  return first
}

/** Whether anything went wrong: any count above 0, or a session that could not be judged. */
export const failed = (report: SuiteReport): boolean => report.results.some(broke)

export const reproduce = (seed: string, id: string): string => `npm run chaos -- --seed ${seed} --only ${id}`

/**
 * The command that reruns `result` alone. A baseline is rerun by any session on its portfolio (and
 * venue), which makes it first.
 */
export const rerun = (report: SuiteReport, result: SessionResult): string => {
  if (result.kind !== "uninterrupted") return reproduce(report.seed, result.id)
  const alpaca = result.id.startsWith("alpaca")
  const session = report.results.find((r) =>
    r.kind !== "uninterrupted" && r.portfolio === result.portfolio && (r.kind === "alpaca") === alpaca
  )
  return reproduce(report.seed, session?.id ?? "ID")
}

const ofKind = (report: SuiteReport, kind: SessionKind) => report.results.filter((r) => r.kind === kind)

export const summaryTable = (report: SuiteReport): string => {
  const columns = [...SESSION_KINDS.map((kind) => ofKind(report, kind)), report.results]
  const cell = (text: string | number) => String(text).padStart(14)
  const row = (label: string, values: ReadonlyArray<string | number>) => label.padEnd(30) + values.map(cell).join("")
  const found = violations(report)
  const outages = report.results.filter((r) => r.outage !== undefined).length
  return [
    `Keel chaos, seed ${report.seed}: ${report.results.length} sessions in ${report.seconds.toFixed(1)} s ` +
    `(${outages} with the venue alone during the outage)`,
    row("", [...SESSION_KINDS, "total"]),
    row("sessions", columns.map((c) => c.length)),
    ...INVARIANTS.map((name) => row(INVARIANT_NAMES[name], columns.map((c) => countsOf(c)[name]))),
    row("not judged (setup failed)", columns.map((c) => c.filter((r) => r.error !== undefined).length)),
    "",
    `kills landed: ${[...killsLanded(report.results)].map(([where, n]) => `${where} ${n}`).join(", ") || "none"}`,
    ...INVARIANTS.flatMap((name) => {
      const ids = found[name]
      return ids === undefined
        ? []
        : [`${INVARIANT_NAMES[name]}: ${ids.slice(0, 12).join(", ")}${ids.length > 12 ? ` (+${ids.length - 12})` : ""}`]
    }),
    ...errors(report).slice(0, 5).map((r) => `${r.id} not judged: ${r.error ?? ""}`),
    ...(failed(report) ? [`reproduce one session alone: ${rerun(report, firstBroken(report))}`] : [])
  ].join("\n")
}

/** The suite as one JSON document: totals, totals per kind, violating sessions, and every session. */
export const reportJson = (report: SuiteReport) => ({
  seed: report.seed,
  seconds: Number(report.seconds.toFixed(1)),
  ...(report.root === undefined ? {} : { root: report.root }),
  passed: !failed(report),
  counts: countsOf(report.results),
  countsByKind: Object.fromEntries(SESSION_KINDS.map((kind) => [kind, countsOf(ofKind(report, kind))])),
  sessions: Object.fromEntries(SESSION_KINDS.map((kind) => [kind, ofKind(report, kind).length])),
  violations: violations(report),
  errors: errors(report).map((r) => ({ id: r.id, error: r.error })),
  reproduce: reproduce(report.seed, "SESSION"),
  results: report.results.map((r) => ({ ...r, ...(broke(r) ? { rerun: rerun(report, r) } : {}) }))
})
