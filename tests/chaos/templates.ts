/**
 * A portfolio's prepared paper account, made once per suite and copied into each session on it:
 * a setup run buys holdings A from the starting cash (an ordinary uninterrupted run, so the venue's
 * own rules made the books), then the baseline, the same account run uninterrupted to targets B,
 * gives what a session on that portfolio should trade. The baseline is itself an uninterrupted
 * session: its invariants are checked and reported like any other.
 */
import * as Data from "effect/Data"
import { checkBooks, type Evidence, type Traded, tradedBy } from "./invariants.ts"
import { readStore, runIds } from "./keelStore.ts"
import { type Portfolio, portfolioFor, QUANTITY_STEP } from "./portfolio.ts"
import { type Exit, exitLabel, keel, lastWords } from "./processes.ts"
import type { SessionResult } from "./report.ts"
import type { Fills } from "./scenarios.ts"
import { readPaperBooks } from "./venueBooks.ts"
import { ACCOUNT, booksFile, copyAccount, INSTANT, sessionDir, storeFile, writePaperAccount } from "./workspace.ts"

/** A setup or baseline run did not complete: the portfolio's sessions cannot be judged. */
export class SetupFailed extends Data.TaggedError("SetupFailed")<{ readonly message: string }> {}

export interface Template {
  readonly portfolio: Portfolio
  /** The directory whose account holds A, after the setup run. */
  readonly setupDir: string
  /** Venue order ids of the setup: not a session's trades. */
  readonly orders: ReadonlySet<string>
  /** Run ids of the setup. */
  readonly runs: ReadonlySet<string>
  /** What the uninterrupted run to B traded, and that run as a session of its own. */
  readonly baseline: { readonly traded: Traded; readonly result: SessionResult }
}

/** Arguments of every run the harness starts on a paper account. */
export const paperRun = ["run", "--account", ACCOUNT, "--execute", "--ignore-market-hours"] as const

/** A limit no healthy run comes near: the slowest phase waits a few seconds. */
export const RUN_LIMIT_SECONDS = 120

/** Runs the account in `dir` uninterrupted; anything but a completed run fails the template. */
const completed = async (dir: string, what: string): Promise<Exit> => {
  const exit = await keel(paperRun, { cwd: dir, limitSeconds: RUN_LIMIT_SECONDS })
  if (exit.code !== 0) {
    throw new SetupFailed({ message: `${what} in ${dir} exited ${exitLabel(exit)}: ${lastWords(exit, 3)}` })
  }
  return exit
}

const makeTemplate = async (root: string, seed: string, index: number): Promise<Template> => {
  const portfolio = portfolioFor(seed, index)
  const setupDir = sessionDir(root, `portfolio-${index}/setup`)
  writePaperAccount(setupDir, portfolio, portfolio.holdings, INSTANT)
  await completed(setupDir, "setup run to holdings A")
  const orders = new Set(readPaperBooks(booksFile(setupDir, ACCOUNT), ACCOUNT).orders.map((o) => o.id))
  const runs = runIds(storeFile(setupDir))

  const id = `baseline-${index}`
  const baselineDir = sessionDir(root, `portfolio-${index}/baseline`)
  copyAccount(setupDir, baselineDir)
  writePaperAccount(baselineDir, portfolio, portfolio.targets, INSTANT)
  const exit = await completed(baselineDir, "baseline run to targets B")
  const venue = readPaperBooks(booksFile(baselineDir, ACCOUNT), ACCOUNT)
  const traded = tradedBy(venue.orders, orders)
  const findings = checkBooks({
    venue,
    store: readStore(storeFile(baselineDir)),
    before: orders,
    baseline: traded,
    step: QUANTITY_STEP
  })
  const result: SessionResult = { id, kind: "uninterrupted", portfolio: index, exits: [exitLabel(exit)], findings }
  return { portfolio, setupDir, orders, runs, baseline: { traded, result } }
}

/** Each portfolio's template, made on first use and shared by every session on it. */
export const templates = (root: string, seed: string): (index: number) => Promise<Template> => {
  const made = new Map<number, Promise<Template>>()
  return (index) => {
    let template = made.get(index)
    if (template === undefined) {
      template = makeTemplate(root, seed, index)
      made.set(index, template)
    }
    return template
  }
}

/** A session's directory holding the template's account (holdings A), set to run to targets B with `fills`. */
export const fromTemplate = (root: string, id: string, template: Template, fills: Fills): string => {
  const dir = sessionDir(root, id)
  copyAccount(template.setupDir, dir)
  writePaperAccount(dir, template.portfolio, template.portfolio.targets, fills)
  return dir
}

/** A paper session's venue books and Keel's Store, against its template's baseline. */
export const paperEvidence = (dir: string, template: Template): Evidence => ({
  venue: readPaperBooks(booksFile(dir, ACCOUNT), ACCOUNT),
  store: readStore(storeFile(dir)),
  before: template.orders,
  baseline: template.baseline.traded,
  step: QUANTITY_STEP
})
