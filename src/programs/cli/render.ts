/**
 * What the commands print for people on a terminal: tables, percentages, amounts, times and
 * indented sections, each written one way. Amounts are printed exactly as Keel computed them;
 * only weights are rounded, to percent with two places, for reading. Programs read the JSON
 * documents (src/programs/documents/), never this text.
 */
import { type Decimal, format } from "../../kernel/decimal.ts"

/** How a column lines up: text to the left, numbers to the right. */
export type Align = "left" | "right"

export interface Column {
  /** The column's title on the title line; none: an untitled column. */
  readonly title: string
  readonly align: Align
}

/** A column of text. */
export const left = (title = ""): Column => ({ title, align: "left" })

/** A column of numbers. */
export const right = (title = ""): Column => ({ title, align: "right" })

/** Between two columns. */
const GAP = "  "

/**
 * Rows under their columns, as lines: each column as wide as its widest cell (its title
 * included), two spaces apart, no line ending in spaces. The title line comes first when any
 * column has a title. A row may be shorter than the columns: its missing cells are empty.
 */
export const table = (
  columns: ReadonlyArray<Column>,
  rows: ReadonlyArray<ReadonlyArray<string>>
): ReadonlyArray<string> => {
  const titled = columns.some((c) => c.title !== "")
  const all = titled ? [columns.map((c) => c.title), ...rows] : rows
  const widths = columns.map((_, i) => Math.max(...all.map((row) => row[i]?.length ?? 0)))
  const line = (row: ReadonlyArray<string>) =>
    columns
      .map((c, i) => {
        const cell = row[i] ?? ""
        const width = widths[i] ?? 0
        return c.align === "right" ? cell.padStart(width) : cell.padEnd(width)
      })
      .join(GAP)
      .trimEnd()
  return all.map(line)
}

const HUNDRED = "100"

/** A weight (a fraction: 0.25) as a percentage with two places, for reading: `25.00%`; unknown: `?`. */
export const percent = (weight: Decimal | undefined): string =>
  weight === undefined ? "?" : `${weight.times(HUNDRED).round(2).toFixed(2)}%`

/** An amount exactly as Keel computed it; unknown (no price to value it at): `?`. */
export const amount = (d: Decimal | undefined): string => (d === undefined ? "?" : format(d))

/** A moment (epoch milliseconds) in ISO 8601, UTC; not yet: `-`. */
export const time = (millis: number | undefined): string => millis === undefined ? "-" : new Date(millis).toISOString()

/** Lines indented under a heading. */
export const indent = (lines: ReadonlyArray<string>): ReadonlyArray<string> => lines.map((l) => `${GAP}${l}`)

/** A heading and its lines, indented, after a blank line; nothing at all when there are no lines. */
export const section = (heading: string, lines: ReadonlyArray<string>): ReadonlyArray<string> =>
  lines.length === 0 ? [] : ["", heading, ...indent(lines)]
