/**
 * How the Store writes Keel's lists in its columns, for the store's reads and writes (sql.ts)
 * and for the migrations that fill a column from older rows (migrations.ts), so both write
 * exactly what the store reads back. Portable, like the tables: JSON text, decimals in it as
 * text. (The codecs every SQL module shares, such as `Integer`, are in ../sql/columns.ts.)
 */
import * as Schema from "effect/Schema"
import { AttributionJson } from "../../formats/attribution.ts"
import { DecimalText } from "../../formats/decimal.ts"

/** account_states.positions: JSON text of [{ symbol, quantity: "<decimal>" }]. */
export const PositionsJson = Schema.fromJsonString(
  Schema.Array(Schema.Struct({ symbol: Schema.String, quantity: DecimalText }))
)

/**
 * order_intents.attribution: JSON text of [{ strategy, weight: "<decimal>" }], the kernel's
 * `Attribution` of the order (`[]` for plain targets); NULL when it is unknown (an intent
 * stored before the column, whose run's plans could not tell).
 */
export const AttributionColumn = Schema.OptionFromNullOr(Schema.fromJsonString(AttributionJson))
