/**
 * The default notifier: the message on the console (stderr when stdout carries JSON). A run's is
 * its headline and a line per warning; an account that did not start and a digest are their title
 * and lines.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { headline, type Message, Notifier } from "../Notifier.ts"
import { contentOf } from "./content.ts"

const linesOf = (message: Message): ReadonlyArray<string> => {
  if (message._tag === "Run") {
    return [headline(message.summary), ...message.summary.warnings.map((w) => `  warning: ${w}`)]
  }
  const content = contentOf(message)
  return [content.title, ...content.lines.map((line) => `  ${line}`)]
}

export const layer = (options: { readonly stderr: boolean }): Layer.Layer<Notifier> =>
  Layer.succeed(Notifier)(
    Notifier.of({
      notify: (message) =>
        Effect.forEach(linesOf(message), (line) => (options.stderr ? Console.error(line) : Console.log(line)), {
          discard: true
        })
    })
  )
