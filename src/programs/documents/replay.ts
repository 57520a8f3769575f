/**
 * The replay report: whether today's code decides what a recorded run decided, and if not,
 * where it parted (`rebalance replay --json`). Nothing here is unknown but absent: what a
 * replay did not find is null, in the report as in its JSON.
 */
import * as Schema from "effect/Schema"
import { Method } from "../../effects/broker/recording/session.ts"
import { VenueKind } from "../../effects/broker/registry.ts"
import { OutcomeLine } from "../sessions.ts"

/** A broker call: its method, and its arguments as recorded (null when it takes none). */
const CallDocument = Schema.Struct({ method: Method, args: Schema.Unknown })

export const ReplayReportDocument = Schema.Struct({
  file: Schema.String,
  identical: Schema.Boolean,
  header: Schema.Struct({
    account: Schema.String,
    broker: VenueKind,
    keel: Schema.String,
    /** ISO 8601. */
    startedAt: Schema.String
  }),
  /** The line a crash cut short; the lines before it were replayed. */
  truncatedLine: Schema.NullOr(Schema.Number),
  /** The call the program made where the recording expected another (none left: no `expected`). */
  divergence: Schema.NullOr(Schema.Struct({
    made: CallDocument,
    expected: Schema.optional(Schema.Struct({ ...CallDocument.fields, line: Schema.Number }))
  })),
  /** Recorded calls the program never made. */
  unmatched: Schema.Array(Schema.Struct({ line: Schema.Number, ...CallDocument.fields })),
  differences: Schema.Array(Schema.String),
  recorded: Schema.NullOr(OutcomeLine),
  replayed: Schema.NullOr(OutcomeLine)
})
export type ReplayReport = typeof ReplayReportDocument.Type
