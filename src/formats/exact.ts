/**
 * Numbers written in a file reach the kernel as written. JSON and YAML parsers turn a
 * number into a double; when that double is not the written decimal (too many digits,
 * or beyond the double range), the written text is handed on instead, so the kernel
 * reads it exactly or names it in its error, and never sees a rounded neighbour.
 */
import { Decimal, DecimalLimits, parseDecimal } from "../kernel/decimal.ts"

/**
 * Plain decimals within the kernel's limits. A double that prints as the written text of one is that
 * decimal: the common case, told without building a decimal (a large file has a million numbers).
 */
const PLAIN = new RegExp(`^-?\\d{1,${DecimalLimits.integerDigits}}(?:\\.\\d{1,${DecimalLimits.decimalPlaces}})?$`)

export const exactNumber = (parsed: number, written: string): number | string => {
  const text = written.trim()
  if (String(parsed) === text && PLAIN.test(text)) return parsed
  if (!Number.isFinite(parsed)) return text
  const decimal = parseDecimal(text)
  // Not plain decimal notation (YAML 0x1F, 0o17): the parser's reading is the only one.
  if (decimal === "not-a-number") return parsed
  if (decimal === "out-of-range") return text
  return decimal.eq(new Decimal(String(parsed))) ? parsed : text
}
