import ArgumentParser
import Foundation
import HTTPServer
import XeroSimulator

@main
struct XeroSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xero-sim",
        abstract: "A faithful local Xero: OAuth 2.0, Contacts/Items/Invoices, limits, signed webhooks, a control API under /sim/.",
        discussion: """
        Environment: XERO_CLIENT_ID, XERO_CLIENT_SECRET (the one app it knows), XERO_WEBHOOK_KEY (signs webhooks),
        SIM_WEBHOOK_URL (where webhooks go), XERO_REDIRECT_URIS (comma-separated; empty accepts any http(s) URI).
        """)

    @Option(help: "host:port to listen on") var listen = "127.0.0.1:9090"
    @Option(help: "initial state: demo or empty") var seed = "demo"
    @Option(name: .customLong("redirect-uri"), help: "a registered redirect URI (repeatable; adds to XERO_REDIRECT_URIS)")
    var redirectURIs: [String] = []
    @Option(name: .customLong("app-name"), help: "the app's name (ProviderName in responses)") var appName = "SortScape"

    func run() throws {
        let signals = StopSignals.block()

        let env = ProcessInfo.processInfo.environment
        func setting(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let colon = listen.lastIndex(of: ":"), let port = UInt16(listen[listen.index(after: colon)...]) else {
            fail("error: --listen must be host:port, e.g. 127.0.0.1:9090")
        }
        let host = String(listen[..<colon])
        guard let seedChoice = SimulatorConfiguration.Seed(rawValue: seed) else { fail("error: --seed must be demo or empty") }

        var config = SimulatorConfiguration(host: host.isEmpty ? "127.0.0.1" : host, port: port, appName: appName, seed: seedChoice)
        var lines: [String] = []
        if let id = setting("XERO_CLIENT_ID") {
            config.clientId = id
            lines.append("  client id      \(id) (XERO_CLIENT_ID)")
        } else {
            lines.append("  client id      \(config.clientId) (XERO_CLIENT_ID not set: development default)")
        }
        if let secret = setting("XERO_CLIENT_SECRET") {
            config.clientSecret = secret
            lines.append("  client secret  set (XERO_CLIENT_SECRET)")
        } else {
            lines.append("  client secret  XERO_CLIENT_SECRET not set: using the built-in development secret")
        }
        if let key = setting("XERO_WEBHOOK_KEY") {
            config.webhookKey = key
            lines.append("  webhook key    set (XERO_WEBHOOK_KEY)")
        } else {
            lines.append("  webhook key    XERO_WEBHOOK_KEY not set: using the built-in development key")
        }
        if let url = setting("SIM_WEBHOOK_URL") {
            config.webhookURL = url
            lines.append("  webhooks to    \(url) (SIM_WEBHOOK_URL)")
        } else {
            lines.append("  webhooks       SIM_WEBHOOK_URL not set: events are recorded, not delivered (POST /sim/webhooks/config to set one)")
        }
        let fromEnv = (setting("XERO_REDIRECT_URIS") ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        config.redirectURIs = fromEnv + redirectURIs
        lines.append("  redirect URIs  " + (config.redirectURIs.isEmpty ? "any http(s) URI (none registered)" : config.redirectURIs.joined(separator: ", ")))

        let sim = Simulator(configuration: config)
        do {
            try sim.start()
        } catch {
            fail("error: \(error)")
        }
        let base = sim.baseURL
        var out = ["xero-sim listening on \(base)"] + lines
        out.append("  seed           \(seedChoice.rawValue)")
        if seedChoice == .demo {
            out.append("  organisation   Harbour Landscaping Ltd  tenantId \(Simulator.demoTenantId)")
            out.append("  organisation   Harbour Landscaping (AU) Pty Ltd  tenantId \(Simulator.demoSecondTenantId)")
            out.append("  login          \(Simulator.demoLoginEmail) (any password)")
        }
        out.append("  authorize      \(base)/identity/connect/authorize")
        out.append("  token          \(base)/connect/token")
        out.append("  connections    \(base)/connections")
        out.append("  accounting     \(base)/api.xro/2.0/")
        out.append("  control        \(base)/sim/state")
        say(out.joined(separator: "\n"))

        say("xero-sim: \(signals.wait()) received, stopping")
        sim.shutdown()
    }
}

func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    Foundation.exit(1)
}
