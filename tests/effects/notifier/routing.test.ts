import { describe, expect, it } from "@effect/vitest"
import type { Notification } from "../../../src/effects/Notifier.ts"
import { categoriesOf, channelsFor, type Route, severityOf } from "../../../src/effects/notifier/routing.ts"
import { completed, failed, notStarted, summary } from "./fixtures.ts"

const warned: Notification = { _tag: "Run", summary: summary("b", { warnings: ["VTI: no quote, held"] }) }
const crashed: Notification = {
  _tag: "Run",
  summary: summary("c", { status: "crashed", step: "buy-wait", errors: { timeout: 1 } })
}

describe("severity and categories", () => {
  it("info for completed, warning for completed with warnings, error for not completed or not started", () => {
    expect([completed("a"), warned, failed("a"), crashed, notStarted("a")].map(severityOf))
      .toEqual(["info", "warning", "error", "error", "error"])
  })

  it("the summary's counts above 0, a not-started account's own, and a crashed run is crash-recovered", () => {
    expect(categoriesOf(completed("a"))).toEqual([])
    expect(categoriesOf({ _tag: "Run", summary: summary("a", { errors: { rejected: 2, guard: 0 } }) }))
      .toEqual(["rejected"])
    expect(categoriesOf(failed("a"))).toEqual(["broker"])
    expect(categoriesOf(crashed)).toEqual(["timeout", "crash-recovered"])
    expect(categoriesOf(notStarted("a"))).toEqual(["input"])
  })
})

describe("channelsFor", () => {
  const channels = ["mail", "phone", "chat"]
  const groups = { core: ["a", "b"], satellite: ["c"] }
  const route = (r: Route) => r

  it("with no routes every channel hears everything; with routes, none that matches none", () => {
    expect(channelsFor(undefined, groups, channels, completed("z"))).toEqual(channels)
    expect(channelsFor([], groups, channels, failed("z"))).toEqual([])
  })

  it("a route matches by account or group, severity and category, and the channels come once, in route order", () => {
    const routes = [
      route({ channels: ["chat"] }),
      route({ channels: ["phone", "chat"], minSeverity: "error", groups: ["core"] }),
      route({ channels: ["mail"], minSeverity: "warning", accounts: ["c"] }),
      route({ channels: ["mail"], categories: ["broker", "crash-recovered"] })
    ]
    const to = (n: Notification) => channelsFor(routes, groups, channels, n)
    expect(to(completed("a"))).toEqual(["chat"])
    expect(to(failed("a"))).toEqual(["chat", "phone", "mail"])
    // Group satellite is not core: no phone; the broker category still reaches mail.
    expect(to(failed("c"))).toEqual(["chat", "mail"])
    expect(to(warned)).toEqual(["chat"])
    expect(to({ _tag: "Run", summary: summary("c", { warnings: ["w"] }) })).toEqual(["chat", "mail"])
    expect(to(crashed)).toEqual(["chat", "mail"])
    expect(to(notStarted("b"))).toEqual(["chat", "phone"])
  })

  it("a group nobody declared matches no account", () => {
    const routes = [route({ channels: ["phone"], groups: ["ghost"] })]
    expect(channelsFor(routes, groups, channels, failed("a"))).toEqual([])
  })
})
