/**
 * A long-running command stopped by SIGINT or SIGTERM (`paper-venue`, `serve`) has done its job
 * once it has shut down: it exits 0, not the runtime's 130 for an interrupted program. The bin's
 * runtime interrupts the command on either signal; the listener here runs before the runtime's and
 * notes that the stop was asked for.
 */
import * as Effect from "effect/Effect"

const signalled = { stop: false }
const onSignal = () => {
  signalled.stop = true
}

/** Listens for the signals for the scope's life. */
export const listenForSignals = Effect.acquireRelease(
  Effect.sync(() => {
    process.prependListener("SIGINT", onSignal)
    process.prependListener("SIGTERM", onSignal)
  }),
  () =>
    Effect.sync(() => {
      process.off("SIGINT", onSignal)
      process.off("SIGTERM", onSignal)
    })
)

/** Ends the process with 0 when a signal stopped it (its resources are closed by now). */
export const exitOnSignal = Effect.sync(() => {
  if (signalled.stop) process.exit(0)
})
