/**
 * Moved to `src/formats/decimal.ts` (the one module of decimal Schemas). Kept as a re-export
 * until every importer reads it from there; `keel/effects/DecimalText` is also a published path.
 */
export { DecimalText } from "../formats/decimal.ts"
