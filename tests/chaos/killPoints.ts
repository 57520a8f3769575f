/**
 * Where a run is killed: at a step boundary, or at a random time. A step kill watches Keel's Store
 * (`runs.step` of the run the process started, which a step records before it runs) and sends
 * SIGKILL as soon as the run has reached the step; a poll may see the run one step later, and the
 * kill then lands at that step, which the report says. A run that ends before its kill point is a
 * missed kill: the session is then an uninterrupted one.
 */
import { RunStep } from "../../src/effects/Store.ts"
import { watchStore } from "./keelStore.ts"
import { type Exit, type KeelProcess, sleep } from "./processes.ts"
import { storeFile } from "./workspace.ts"

/** Every step a run records, in order: Keel's own `RunStep`, one definition. */
const STEP_ORDER: ReadonlyArray<string> = RunStep.literals

/** The steps a run is killed at: every boundary from the snapshot to the reconciliation. */
export const KILL_STEPS: ReadonlyArray<KillStep> = RunStep.literals.slice(
  RunStep.literals.indexOf("snapshot"),
  RunStep.literals.indexOf("reconcile") + 1
)
export type KillStep = RunStep

export type KillPoint =
  | { readonly at: "step"; readonly step: KillStep }
  | { readonly at: "time"; readonly seconds: number }

const reached = (step: string, target: KillStep): boolean => STEP_ORDER.indexOf(step) >= STEP_ORDER.indexOf(target)

/** How often the Store is read while waiting for a step. */
const POLL_SECONDS = 0.01

export interface Kill {
  readonly point: KillPoint
  /** The step the run had stored when it was killed; undefined when none was stored yet. */
  readonly step: string | undefined
  /** The process ended on its own before its kill point. */
  readonly missed: boolean
  readonly exit: Exit
}

/** Kills `run` (a `run --execute` in `dir`) at `point`; `known` are the runs in the Store before it started. */
export const killAt = async (run: KeelProcess, point: KillPoint, dir: string, known: ReadonlySet<string>) => {
  const watch = watchStore(storeFile(dir))
  try {
    let step: string | undefined
    if (point.at === "time") {
      await Promise.race([sleep(point.seconds), run.exited])
      step = watch.newestRun(known)?.step
    } else {
      while (run.running()) {
        step = watch.newestRun(known)?.step
        if (step !== undefined && reached(step, point.step)) break
        await sleep(POLL_SECONDS)
      }
    }
    run.signal("SIGKILL")
    const exit = await run.exited
    return { point, step, missed: exit.signal !== "SIGKILL", exit } satisfies Kill
  } finally {
    watch.close()
  }
}
