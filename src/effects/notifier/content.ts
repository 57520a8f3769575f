/**
 * What a message says, whatever the channel: a title (an email's subject, an ntfy title, a Slack
 * header), plain-text lines, its severity, and the report links. Built only from the message,
 * never from a channel's settings, so no secret can reach it.
 */
import { Decimal, parseDecimal } from "../../kernel/decimal.ts"
import { headline, type Message, type Notification, type RunSummary, type Severity } from "../Notifier.ts"
import { categoriesOf, mostSevere, severityOf } from "./routing.ts"

export interface Content {
  readonly title: string
  readonly severity: Severity
  readonly lines: ReadonlyArray<string>
  /** A report served over http(s), for a channel that can open one on a click. */
  readonly reportUrl?: string
}

const HUNDRED = new Decimal("100")

/** A drift (a fraction, as the summary writes it) in percent; unknown: `?`. */
const percent = (fraction: string | undefined): string => {
  const d = fraction === undefined ? undefined : parseDecimal(fraction)
  return d instanceof Decimal ? `${d.times(HUNDRED).round(2).toFixed(2)}%` : "?"
}

const outcome = (s: RunSummary): string =>
  s.status === "completed"
    ? s.warnings.length === 0 ? "completed" : `completed with ${s.warnings.length} warning(s)`
    : `${s.status} at ${s.step}`

const driftLine = (s: RunSummary): ReadonlyArray<string> =>
  s.drift === undefined ? [] : [`drift ${percent(s.drift.before)} → ${percent(s.drift.after)}`]

const errorsLine = (n: Notification): ReadonlyArray<string> => {
  const categories = categoriesOf(n)
  return categories.length === 0 ? [] : [`errors: ${categories.join(", ")}`]
}

/** Where the report is: its URL, and the artifacts folder. */
const reportLines = (n: Notification): ReadonlyArray<string> =>
  n._tag === "NotStarted" ? [] : [
    ...(n.reportUrl === undefined ? [] : [`report: ${n.reportUrl}`]),
    ...(n.artifacts === undefined ? [] : [`artifacts: ${n.artifacts}`])
  ]

const titleOf = (n: Notification): string =>
  n._tag === "Run"
    ? `Keel ${n.summary.mode} ${n.summary.account}: ${outcome(n.summary)}`
    : `Keel ${n.mode} ${n.account}: not started (${n.category})`

const bodyOf = (n: Notification): ReadonlyArray<string> =>
  n._tag === "Run"
    ? [
      headline(n.summary),
      ...driftLine(n.summary),
      ...errorsLine(n),
      ...n.summary.warnings.map((w) => `warning: ${w}`),
      ...reportLines(n)
    ]
    : [n.reason]

/** An account in a digest, in one line. */
const digestLine = (n: Notification): string => {
  if (n._tag === "NotStarted") return `${n.account}: not started (${n.category}): ${n.reason}`
  const s = n.summary
  const how = s.status === "completed" ? outcome(s) : `${outcome(s)}${s.reason === undefined ? "" : `: ${s.reason}`}`
  const report = n.reportUrl ?? n.artifacts
  return `${s.account}: ${how}; orders placed ${s.orders.placed}, filled ${s.orders.filled}; ` +
    `cash ${s.cash.before} → ${s.cash.after}` +
    (s.drift === undefined ? "" : `; drift ${percent(s.drift.before)} → ${percent(s.drift.after)}`) +
    (report === undefined ? "" : `; report ${report}`)
}

const completed = (n: Notification): boolean => n._tag === "Run" && n.summary.status === "completed"

export const contentOf = (message: Message): Content => {
  if (message._tag !== "Digest") {
    const reportUrl = message._tag === "Run" ? message.reportUrl : undefined
    return {
      title: titleOf(message),
      severity: severityOf(message),
      lines: bodyOf(message),
      ...(reportUrl === undefined ? {} : { reportUrl })
    }
  }
  const all = message.notifications
  const done = all.filter(completed).length
  return {
    title: `Keel fleet ${message.mode}: ${done} of ${all.length} account(s) completed`,
    severity: mostSevere(all.map(severityOf)),
    lines: [`fleet ${message.fleetId}`, ...all.map(digestLine)]
  }
}
