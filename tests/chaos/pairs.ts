/**
 * A concurrent pair: two `run --execute` started at once on one account. One of them must hold the
 * account's lease and the other stop at once: exit 3 and the one stderr line naming the holder.
 * A plan is double-executed when both runs have orders at the venue.
 */
import { checkBooks, combine, executingRuns, found, unexpectedExits } from "./invariants.ts"
import { type Exit, exitLabel, keel, lastWords, type Launch } from "./processes.ts"
import type { SessionResult } from "./report.ts"
import type { PairScenario } from "./scenarios.ts"
import { fromTemplate, paperEvidence, paperRun, RUN_LIMIT_SECONDS, type Template } from "./templates.ts"
import { ACCOUNT } from "./workspace.ts"

/** The line a run prints when another live run holds its account (issue 12, point 1). */
const LEASE_LINE = new RegExp(
  `^account ${ACCOUNT} is being rebalanced by run \\S+ since \\d{2}:\\d{2}:\\d{2} \\(pid \\d+\\)$`
)

/** Stopped by the lease: exit 3, and nothing on stderr but the lease line. */
export const refusedByLease = (exit: Exit): boolean => {
  const lines = exit.stderr.trim().split("\n")
  return exit.code === 3 && lines.length === 1 && LEASE_LINE.test(lines[0] ?? "")
}

export const pairSession = async (scenario: PairScenario, root: string, template: Template): Promise<SessionResult> => {
  const dir = fromTemplate(root, scenario.id, template, scenario.fills)
  const launch: Launch = { cwd: dir, limitSeconds: RUN_LIMIT_SECONDS }
  const [a, b] = await Promise.all([keel(paperRun, launch), keel(paperRun, launch)])

  const evidence = paperEvidence(dir, template)
  const executing = executingRuns(evidence, template.runs)
  const findings = combine(
    checkBooks(evidence),
    found(
      "doubleExecutedPlans",
      executing.length > 1 ? [`runs ${executing.join(", ")} both have orders at the venue`] : []
    ),
    found(
      "leaseNotReported",
      refusedByLease(a) || refusedByLease(b)
        ? []
        : [
          `neither run stopped with exit 3 and the lease line alone (exits ${exitLabel(a)}, ${exitLabel(b)}: ${
            lastWords(a, 1)
          } / ${lastWords(b, 1)})`
        ]
    ),
    unexpectedExits([["the first run", a], ["the second run", b]])
  )
  return { id: scenario.id, kind: "pair", portfolio: scenario.portfolio, exits: [exitLabel(a), exitLabel(b)], findings }
}
