/**
 * An account's inputs, from its keel.yaml entry: the targets resolved from their sources (the
 * replacement set applied) and the policy, read and validated before any run starts, for
 * `rebalance run` and `rebalance targets`.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { explain, inConfigDir, InputFileError, readInput } from "../effects/inputs.ts"
import { resolveTargets } from "../effects/targets/resolve.ts"
import { validatePolicy } from "../kernel/rebalance/policy.ts"
import { targetsInput, validateTargets } from "../kernel/rebalance/targets.ts"
import type { AccountConfig, LoadedConfig } from "./config.ts"
import { day } from "./run/ids.ts"
import { toSource } from "./targetsConfig.ts"

/**
 * The account's targets (resolved from their sources, replacement set applied) and policy,
 * read and validated before any run starts: bad input, or a source that cannot be
 * resolved, is exit 2, never a run on unresolved targets.
 */
export const accountInputs = (loaded: LoadedConfig, account: AccountConfig) =>
  Effect.gen(function*() {
    const at = (file: string) => inConfigDir(loaded.dir, file)
    const index = loaded.config.accounts.indexOf(account)
    const policyFile = typeof account.policy === "string" ? yield* readInput("policy", at(account.policy)) : undefined
    const policyData = policyFile === undefined ? account.policy : policyFile.data
    const policy = validatePolicy(policyData)
    if (Result.isFailure(policy)) {
      return yield* policyFile === undefined
        ? Effect.fail(
          new InputFileError({
            file: loaded.file,
            detail:
              `accounts[${index}].policy.${policy.failure.path}: expected ${policy.failure.expected}, got ${policy.failure.value}`
          })
        )
        : Effect.fail(explain(policyFile, policy.failure))
    }
    const asOf = day(yield* Clock.currentTimeMillis)
    const resolved = yield* resolveTargets(
      toSource(account.targets, at),
      account.replacements === undefined
        ? undefined
        : { file: at(account.replacements.file), set: account.replacements.set },
      {
        asOf,
        configFile: loaded.file,
        at: `accounts[${index}].targets`,
        weightTolerance: policy.success.weightTolerance
      }
    )
    // The policy's own checks on the resolved weights, in the config's terms. Resolved weights
    // never sum above 1 (each source checked its sum against its own tolerance, naming itself),
    // so what this can still refuse is a symbol the policy excludes. The run gets the validated
    // targets; a session records the raw ones, which a replay validates the same way.
    const rawTargets = targetsInput(resolved.targets)
    const targets = validateTargets(rawTargets, policy.success)
    if (Result.isFailure(targets)) {
      const e = targets.failure
      const symbol = resolved.targets.weights[Number(/^\[(\d+)\]/.exec(e.path)?.[1] ?? -1)]?.symbol
      return yield* new InputFileError({
        file: loaded.file,
        detail: `accounts[${index}].targets${
          symbol === undefined ? "" : ` (${symbol})`
        }: expected ${e.expected}, got ${e.value}`
      })
    }
    return { targets: targets.success, policy: policy.success, resolved, asOf, rawTargets, rawPolicy: policyData }
  })
