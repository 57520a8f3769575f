/**
 * Routing: which channels hear about an account, from keel.yaml's routes. Pure: a notification's
 * severity and error categories, and the routes that match it by account or group, severity and
 * category. No routes at all means every channel hears everything.
 */
import * as Schema from "effect/Schema"
import { knownFields } from "../configFields.ts"
import { ErrorCategory, type Notification, Severity } from "../Notifier.ts"

/**
 * One route: its channels hear a notification when every condition it states holds: the account
 * is one of `accounts` or in one of `groups` (neither: any account), the severity is at least
 * `minSeverity` (default `info`), and one of `categories` occurred (absent: any, or none).
 */
export const Route = knownFields(
  "a route field",
  Schema.Struct({
    channels: Schema.NonEmptyArray(Schema.NonEmptyString),
    minSeverity: Schema.optionalKey(Severity),
    categories: Schema.optionalKey(Schema.NonEmptyArray(ErrorCategory)),
    accounts: Schema.optionalKey(Schema.NonEmptyArray(Schema.NonEmptyString)),
    groups: Schema.optionalKey(Schema.NonEmptyArray(Schema.NonEmptyString))
  })
)
export type Route = typeof Route.Type

/** keel.yaml's groups: a name → its accounts. */
export type Groups = Readonly<Record<string, ReadonlyArray<string>>>

export const accountOf = (n: Notification): string => (n._tag === "Run" ? n.summary.account : n.account)

/** `info` a completed run, `warning` a completed one with warnings, `error` one that did not complete or start. */
export const severityOf = (n: Notification): Severity => {
  if (n._tag === "NotStarted" || n.summary.status !== "completed") return "error"
  return n.summary.warnings.length > 0 ? "warning" : "info"
}

/** The categories that occurred: the summary's counts above 0 (a run closed by recovery: `crash-recovered`). */
export const categoriesOf = (n: Notification): ReadonlyArray<ErrorCategory> => {
  if (n._tag === "NotStarted") return [n.category]
  const counted = ErrorCategory.literals.filter((c) => (n.summary.errors[c] ?? 0) > 0)
  return n.summary.status === "crashed" && !counted.includes("crash-recovered")
    ? [...counted, "crash-recovered"]
    : counted
}

const rank = (s: Severity): number => Severity.literals.indexOf(s)

/** The most urgent of `severities`; `info` for none. */
export const mostSevere = (severities: ReadonlyArray<Severity>): Severity =>
  severities.reduce<Severity>((a, b) => (rank(b) > rank(a) ? b : a), "info")

const matches = (route: Route, groups: Groups, n: Notification): boolean => {
  const account = accountOf(n)
  const scoped = route.accounts !== undefined || route.groups !== undefined
  const inScope = !scoped || (route.accounts?.includes(account) ?? false) ||
    (route.groups?.some((g) => groups[g]?.includes(account) ?? false) ?? false)
  const severe = rank(severityOf(n)) >= rank(route.minSeverity ?? "info")
  const categories = categoriesOf(n)
  const ofCategory = route.categories === undefined || route.categories.some((c) => categories.includes(c))
  return inScope && severe && ofCategory
}

/**
 * The channels that hear about `n`: those of every matching route, each once, in the order the
 * routes name them. With no routes (`undefined`), every one of `channels`.
 */
export const channelsFor = (
  routes: ReadonlyArray<Route> | undefined,
  groups: Groups,
  channels: ReadonlyArray<string>,
  n: Notification
): ReadonlyArray<string> =>
  routes === undefined
    ? channels
    : [...new Set(routes.filter((r) => matches(r, groups, n)).flatMap((r) => r.channels))]
