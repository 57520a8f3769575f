/**
 * A paper kill session: the portfolio's account (holdings A) is run to targets B and SIGKILLed at
 * its kill point; in a quarter of the sessions the venue alone (`rebalance paper-venue`) keeps
 * filling during the outage; then two recoveries, `run --execute` and `recover` or another run;
 * then the invariants, against the portfolio's uninterrupted baseline.
 */
import { checkBooks, combine, found, unexpectedExits } from "./invariants.ts"
import { killAt } from "./killPoints.ts"
import { type Exit, exitLabel, keel, lastWords, type Launch, sleep, startKeel } from "./processes.ts"
import { killReport, type SessionResult } from "./report.ts"
import { type PaperScenario, secondRecoveryArgs } from "./scenarios.ts"
import { fromTemplate, paperEvidence, paperRun, RUN_LIMIT_SECONDS, type Template } from "./templates.ts"
import { ACCOUNT } from "./workspace.ts"

/** How long `paper-venue` may take to start matching, or to stop after SIGTERM, before it counts as hung. */
const VENUE_START_SECONDS = 30
const VENUE_STOP_SECONDS = 15

/** How often the harness looks whether `paper-venue` has started matching. */
const VENUE_POLL_SECONDS = 0.02

interface VenueAlone {
  readonly label: string
  /** The venue said it matched: it ran for the drawn time, and must then stop with exit 0. */
  readonly matched: boolean
  readonly exit: Exit
}

/**
 * `rebalance paper-venue`, from the moment it says it matches (one line on stdout) for `seconds`,
 * then SIGTERM: the venue fills open orders while no run is alive.
 */
const venueAlone = async (dir: string, seconds: number): Promise<VenueAlone> => {
  const venue = startKeel(["paper-venue", "--config", "keel.yaml", "--account", ACCOUNT], {
    cwd: dir,
    limitSeconds: VENUE_START_SECONDS + seconds + VENUE_STOP_SECONDS
  })
  while (venue.running() && venue.stdout() === "") await sleep(VENUE_POLL_SECONDS)
  const matched = venue.running()
  if (matched) await Promise.race([sleep(seconds), venue.exited])
  venue.signal("SIGTERM")
  const exit = await venue.exited
  const said = exit.code === 0 ? "" : `: ${lastWords(exit, 1)}`
  return {
    label: `paper-venue ${matched ? `matched ${seconds}s` : "never matched"}, exit ${exitLabel(exit)}${said}`,
    matched,
    exit
  }
}

export const paperSession = async (
  scenario: PaperScenario,
  root: string,
  template: Template
): Promise<SessionResult> => {
  const dir = fromTemplate(root, scenario.id, template, scenario.fills)
  const launch: Launch = { cwd: dir, limitSeconds: RUN_LIMIT_SECONDS }

  const kill = await killAt(startKeel(paperRun, launch), scenario.kill, dir, template.runs)
  const outage = scenario.venueDuringOutage === undefined
    ? undefined
    : await venueAlone(dir, scenario.venueDuringOutage)
  const first = await keel(paperRun, launch)
  const second = await keel(secondRecoveryArgs(scenario.secondRecovery, paperRun, ACCOUNT), launch)

  const findings = combine(
    checkBooks(paperEvidence(dir, template)),
    unexpectedExits([
      ...(kill.missed ? [["the run (not killed)", kill.exit] as const] : []),
      ["the first recovery (run)", first],
      [`the second recovery (${scenario.secondRecovery})`, second]
    ]),
    found("unexpectedExits", outage?.matched === true && outage.exit.code !== 0 ? [outage.label] : [])
  )
  return {
    id: scenario.id,
    kind: "paper",
    portfolio: scenario.portfolio,
    kill: killReport(kill),
    ...(outage === undefined ? {} : { outage: outage.label }),
    exits: [exitLabel(kill.exit), exitLabel(first), exitLabel(second)],
    findings
  }
}
