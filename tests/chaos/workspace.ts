/**
 * A session's directory: keel.yaml, its inputs, and the files Keel and the paper venue keep there.
 * Each session runs in a directory of its own, so sessions in parallel share nothing.
 */
import { cpSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { stringify } from "yaml"
import { POLICY, type Portfolio, quotesCsv, targetsCsv, type Weights } from "./portfolio.ts"
import type { Fills } from "./scenarios.ts"

/** The account every chaos session trades. */
export const ACCOUNT = "chaos"

/** What Keel's files are kept under, relative to the session's directory. */
const KEEL_DIR = ".keel"

/** Keel's Store (keel.yaml's `store.sqlite`, its default). */
export const storeFile = (dir: string): string => join(dir, KEEL_DIR, "keel.db")

/** The paper venue's books: a file of their own, apart from Keel's Store (the paper block's `books` default). */
export const booksFile = (dir: string, account: string): string => join(dir, KEEL_DIR, "paper", `${account}.db`)

/** A fresh directory for `name` under the suite's root. */
export const sessionDir = (root: string, name: string): string => {
  const dir = join(root, name)
  mkdirSync(dir, { recursive: true })
  return dir
}

/**
 * Copies an account's state (Keel's Store, the venue's books) from one session directory into
 * another. SQLite's shared-memory index (`-shm`) is left behind: it belongs to the connections of
 * the first directory, and SQLite rebuilds it.
 */
export const copyAccount = (from: string, to: string): void =>
  cpSync(join(from, KEEL_DIR), join(to, KEEL_DIR), { recursive: true, filter: (file) => !file.endsWith("-shm") })

/** An account's `broker:` block. */
export type BrokerBlock = Readonly<Record<string, unknown>>

/** Writes keel.yaml (one account, the chaos policy, targets.csv) and the targets. */
export const writeAccount = (dir: string, account: string, broker: BrokerBlock, targets: Weights, fills: Fills) => {
  writeFileSync(join(dir, "targets.csv"), targetsCsv(targets))
  writeFileSync(
    join(dir, "keel.yaml"),
    stringify({
      store: { sqlite: `${KEEL_DIR}/keel.db` },
      timeouts: { fillSeconds: fills.fillSeconds, pollSeconds: fills.pollSeconds },
      notifiers: ["console"],
      // A session runs its account again and again within one trading day, as recovery needs.
      guards: { oncePerDay: false },
      accounts: [{ name: account, broker, targets: "targets.csv", policy: { ...POLICY }, openOrders: "cancel" }]
    })
  )
}

/** A paper account on the portfolio's venue settings, filling as `fills` says, sent to `targets`. */
export const writePaperAccount = (dir: string, portfolio: Portfolio, targets: Weights, fills: Fills): void => {
  writeFileSync(join(dir, "quotes.csv"), quotesCsv())
  writeAccount(
    dir,
    ACCOUNT,
    {
      kind: "paper",
      startingCash: portfolio.startingCash,
      quotes: "quotes.csv",
      slippageBps: portfolio.slippageBps,
      commissionPerShare: portfolio.commissionPerShare,
      fillLatencySeconds: fills.latencySeconds,
      partialFills: fills.partialFills
    },
    targets,
    fills
  )
}

/** Fills at once, in one part: for setup runs and baselines, whose fills' timing changes nothing they trade. */
export const INSTANT: Fills = { latencySeconds: 0, partialFills: 1, fillSeconds: 30, pollSeconds: 0.2 }
