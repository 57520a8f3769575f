/**
 * Deterministic benchmark inputs (a seeded generator: the bench is not the kernel, and the
 * same seed gives the same accounts on every machine). Prices are whole cents and weights
 * whole millionths, so the floating-point copies used by the quality yardsticks are the
 * same numbers the kernel reads as exact decimals.
 */
import * as Result from "effect/Result"
import { planRebalance, type ShareMode, validateAccount, validateModel } from "../src/kernel/index.ts"
import type { Instance } from "./quality.ts"

export const random = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const symbol = (i: number): string => `S${String(i).padStart(5, "0")}`

/** Weights in millionths that sum to exactly `total` (one million: fully invested). */
export const weightsMicro = (next: () => number, n: number, total = 1_000_000): Array<number> => {
  const raw = Array.from({ length: n }, () => 0.2 + next())
  const sum = raw.reduce((s, x) => s + x, 0)
  const weights = raw.map((x) => Math.floor((x / sum) * total))
  // The rounding remainder goes to the first symbol, so the weights sum to `total` exactly.
  weights[0] = weights[0]! + total - weights.reduce((s, w) => s + w, 0)
  return weights
}

export const pricesCents = (next: () => number, n: number, low = 500, high = 50_000): Array<number> =>
  Array.from({ length: n }, () => low + Math.floor(next() * (high - low)))

export const cents = (c: number): string => (c / 100).toFixed(2)
export const micro = (w: number): string => (w / 1_000_000).toFixed(6)

export interface KernelInput {
  readonly snapshot: {
    readonly cash: string
    readonly positions: ReadonlyArray<{ readonly symbol: string; readonly quantity: string }>
    readonly quotes: ReadonlyArray<{ readonly symbol: string; readonly bid: string; readonly ask: string }>
  }
  readonly targets: Record<string, string>
  readonly policy: Record<string, unknown>
}

/** An account in cash only, one price per symbol (bid = ask), whole shares. */
export const fromCash = (instance: Instance): KernelInput => ({
  snapshot: {
    cash: String(instance.cash),
    positions: [],
    quotes: instance.prices.map((p, i) => ({ symbol: symbol(i), bid: p.toFixed(2), ask: p.toFixed(2) }))
  },
  targets: Object.fromEntries(instance.weights.map((w, i) => [symbol(i), w.toFixed(6)])),
  policy: { shares: "whole" }
})

export const instance = (seed: number, n: number, cash: number, low?: number, high?: number): Instance => {
  const next = random(seed)
  return {
    prices: pricesCents(next, n, low, high).map((c) => c / 100),
    weights: weightsMicro(next, n).map((w) => w / 1_000_000),
    cash
  }
}

/** Held positions near their targets, each drifted by up to ±`drift` of its target value. */
export const drifted = (
  seed: number,
  n: number,
  equity: number,
  drift: number,
  shares: ShareMode
): KernelInput => {
  const next = random(seed)
  const prices = pricesCents(next, n)
  const weights = weightsMicro(next, n, 990_000)
  const positions = prices.map((c, i) => {
    const value = (weights[i]! / 1_000_000) * equity * (1 + drift * (2 * next() - 1))
    const quantity = shares === "whole" ? Math.floor(value / (c / 100)) : Math.floor((value / (c / 100)) * 1e4) / 1e4
    return { symbol: symbol(i), quantity: quantity.toFixed(shares === "whole" ? 0 : 4) }
  })
  return {
    snapshot: {
      cash: String(Math.round(equity * 0.02)),
      positions,
      quotes: prices.map((c, i) => ({ symbol: symbol(i), bid: cents(c - 1), ask: cents(c + 1) }))
    },
    targets: Object.fromEntries(weights.map((w, i) => [symbol(i), micro(w)])),
    policy: { shares, driftBand: "0.001", minOrderValue: "1" }
  }
}

/**
 * Many accounts on one model portfolio of `n` symbols (the batch case): a third inside a 1%
 * band, the rest drifted up to ±30%, each with up to 2% of its equity in cash; raw input.
 */
export const batchAccounts = (accounts: number, n = 30) => {
  const next = random(4)
  const prices = pricesCents(next, n)
  const weights = weightsMicro(next, n, 980_000)
  const quotes = prices.map((c, i) => ({ symbol: symbol(i), bid: cents(c - 2), ask: cents(c + 2) }))
  const targets = Object.fromEntries(weights.map((w, i) => [symbol(i), micro(w)]))
  const raw = Array.from({ length: accounts }, () => {
    const equity = 20_000 + Math.floor(next() * 2_000_000)
    // Mixed drift: a third of the accounts sit inside the band, the rest drift up to ±30%.
    const drift = next() < 1 / 3 ? 0.005 : 0.3
    return {
      cash: String(Math.floor(equity * 0.02 * next())),
      positions: prices.map((c, i) => ({
        symbol: symbol(i),
        quantity: String(Math.floor(((weights[i]! / 1e6) * equity * (1 + drift * (2 * next() - 1))) / (c / 100)))
      }))
    }
  })
  return { quotes, targets, policy: { driftBand: "0.01", minOrderValue: "1" }, accounts: raw }
}

/** single-500-whole's instance: 500 symbols bought from cash (the quality yardsticks read it too). */
export const wholeInstance = (): Instance => instance(1, 500, 1_000_000)

/** The single-account cases of the benchmark, by name, as raw kernel input. */
export const singleCases = {
  "single-500-whole": () => fromCash(wholeInstance()),
  "single-500-drift": () => drifted(2, 500, 2_000_000, 0.2, "whole"),
  "single-5000-fractional": () => drifted(3, 5000, 20_000_000, 0.2, "fractional")
} as const satisfies Record<string, () => KernelInput>

/**
 * The batch case over `accounts` accounts: a run validates the shared model once, then validates
 * and plans every account, and returns how many orders they make.
 */
export const batchRun = (accounts: number, n = 30): () => number => {
  const { quotes, targets, policy, accounts: raw } = batchAccounts(accounts, n)
  return () => {
    const shared = validateModel(targets, quotes, policy)
    if (Result.isFailure(shared)) throw new Error(shared.failure.message)
    let orders = 0
    for (const account of raw) {
      const valid = validateAccount(account)
      if (Result.isFailure(valid)) throw new Error(valid.failure.message)
      orders += planRebalance(valid.success, shared.success).orders.orders.length
    }
    return orders
  }
}
