/** The default notifier: the summary on the console (stderr when stdout carries JSON). */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { headline, Notifier } from "../Notifier.ts"

export const layer = (options: { readonly stderr: boolean }): Layer.Layer<Notifier> =>
  Layer.succeed(Notifier)(
    Notifier.of({
      notify: (summary) => {
        const lines = [headline(summary), ...summary.warnings.map((w) => `  warning: ${w}`)]
        return Effect.forEach(lines, (line) => (options.stderr ? Console.error(line) : Console.log(line)), {
          discard: true
        })
      }
    })
  )
