/**
 * Numbers written in a file reach the kernel as written. JSON and YAML parsers turn a
 * number into a double; when that double is not the written decimal (too many digits,
 * or beyond the double range), the written text is handed on instead, so the kernel
 * reads it exactly or names it in its error, and never sees a rounded neighbour.
 */
import { Decimal, parseDecimal } from "../kernel/decimal.ts"

export const exactNumber = (parsed: number, written: string): number | string => {
  const text = written.trim()
  if (!Number.isFinite(parsed)) return text
  const decimal = parseDecimal(text)
  // Not plain decimal notation (YAML 0x1F, 0o17): the parser's reading is the only one.
  if (decimal === "not-a-number") return parsed
  if (decimal === "out-of-range") return text
  return decimal.eq(new Decimal(String(parsed))) ? parsed : text
}
