import ArgumentParser
import Crypto
import Foundation
import Gateway
import HTTPClient
import HTTPServer
import Logging
import Store
import Xero
import XeroSimulator

/// `xero-gateway demo`: the seeded Xero simulator and the gateway in one process, wired as in
/// production (the simulator's signed webhooks go to the gateway). State lives in `--dir`.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run the gateway against the bundled Xero simulator with seeded data.")

    @Option(help: "gateway host:port") var listen = "127.0.0.1:8080"
    @Option(name: .customLong("sim-listen"), help: "simulator host:port") var simListen = "127.0.0.1:9090"
    @Option(help: "where the demo keeps its database, keys and tokens") var dir = "data/demo"

    func run() throws {
        let signals = StopSignals.block()
        LoggingSystem.bootstrap(StreamLogHandler.standardError)

        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let secrets = try DemoSecrets.load(from: "\(dir)/secrets.json")
        guard let colon = simListen.lastIndex(of: ":"), let simPort = UInt16(simListen[simListen.index(after: colon)...]) else {
            fail("error: --sim-listen must be host:port")
        }
        let publicURL = "http://\(listen)"
        let simulator = Simulator(configuration: SimulatorConfiguration(
            host: String(simListen[..<colon]), port: simPort,
            clientId: "sortscape-demo", clientSecret: secrets.clientSecret,
            redirectURIs: [publicURL + "/oauth/xero/callback"],
            webhookKey: secrets.webhookKey, webhookURL: publicURL + "/webhooks/xero", seed: .demo))
        do { try simulator.start() } catch { fail("error: simulator: \(error)") }

        let config: Configuration
        do {
            config = try Configuration.load(environment: [
                "GATEWAY_LISTEN": listen, "GATEWAY_DB": "\(dir)/gateway.sqlite", "GATEWAY_PUBLIC_URL": publicURL,
                "GATEWAY_SECRET_KEY": secrets.secretKey,
                "XERO_CLIENT_ID": "sortscape-demo", "XERO_CLIENT_SECRET": secrets.clientSecret,
                "XERO_WEBHOOK_KEY": secrets.webhookKey,
                "XERO_LOGIN_URL": simulator.baseURL, "XERO_IDENTITY_URL": simulator.baseURL, "XERO_API_URL": simulator.baseURL,
            ])
        } catch let e as ConfigurationError {
            fail(e.description)
        }
        let gateway: Gateway
        do {
            gateway = try Gateway(configuration: config, logger: Logger(label: "xero-gateway"))
            try gateway.start()
        } catch {
            simulator.shutdown()
            fail("error: \(error)")
        }
        // Until the OAuth connection exists, let the simulator send webhooks for every
        // organisation, so edits made "in Xero" show up in the gateway's inbox.
        _ = try? HTTPClient().send(ClientRequest(method: "POST", url: simulator.baseURL + "/sim/webhooks/config",
                                                 headers: [("Content-Type", "application/json")],
                                                 body: Array(#"{"onlyConnected":false}"#.utf8)))
        let tokens = try DemoTokens.load(from: "\(dir)/tokens.json", accounts: gateway.accounts,
                                         records: gateway.records)
        let tenant = Simulator.demoTenantId
        FileHandle.standardOutput.write(Data("""

        xero-gateway demo (Ctrl-C stops it; state in \(dir)/)
          gateway          \(publicURL)          health: \(publicURL)/healthz
          admin screens    \(publicURL)/admin   (sign in with the admin token, then Activate and Connect to Xero;
                           Contacts, Materials and Visits are in the menu: two completed visits wait to be invoiced)
          account id       \(tokens.accountId)
          admin token      \(tokens.admin)
          operator token   \(tokens.operator)
          Xero simulator   \(simulator.baseURL)   organisation "Harbour Landscaping Ltd" (\(tenant))
                           login \(Simulator.demoLoginEmail); control API under /sim/

          Once connected, add a customer "in Xero": its webhook is applied within a second.
            curl -s -X POST \(simulator.baseURL)/sim/organisations/\(tenant)/contacts \\
                 -H 'Content-Type: application/json' -d '{"Contacts":[{"Name":"Kowhai Nursery","IsCustomer":true}]}'
            curl -s -H 'Authorization: Bearer \(tokens.admin)' '\(publicURL)/api/v1/contacts?limit=500' | grep -o '"name":"Kowhai Nursery"'
            curl -s -H 'Authorization: Bearer \(tokens.operator)' \(publicURL)/api/v1/xero/events


        """.utf8))
        _ = signals.wait()
        simulator.shutdown()
        gateway.shutdown()
    }
}

/// Keys the demo generates once and keeps (0600), so its database stays readable across runs.
struct DemoSecrets: Codable {
    var secretKey: String
    var webhookKey: String
    var clientSecret: String

    static func load(from path: String) throws -> DemoSecrets {
        if let data = FileManager.default.contents(atPath: path),
           let s = try? JSONDecoder().decode(DemoSecrets.self, from: data) {
            return s
        }
        let s = DemoSecrets(secretKey: Base64.encode(Crypto.randomBytes(32)),
                            webhookKey: Base64.encodeURL(Crypto.randomBytes(24)),
                            clientSecret: Base64.encodeURL(Crypto.randomBytes(24)))
        _ = FileManager.default.createFile(atPath: path, contents: try JSONEncoder().encode(s),
                                       attributes: [.posixPermissions: 0o600])
        return s
    }
}

/// The demo account's admin and an operator, created on the first run.
struct DemoTokens: Codable {
    var accountId: String
    var admin: String
    var `operator`: String

    static func load(from path: String, accounts: any AccountRepository, records: any SortScapeRecords) throws -> DemoTokens {
        if let data = FileManager.default.contents(atPath: path),
           let t = try? JSONDecoder().decode(DemoTokens.self, from: data),
           (try? accounts.authenticate(token: t.admin)) != nil {
            return t
        }
        let admin = try accounts.createAccount(name: "Demo Landscaping")
        let op = try accounts.createUser(accountId: nil, role: .operator)
        try seedSortScape(accountId: admin.accountId ?? "", records)
        let t = DemoTokens(accountId: admin.accountId ?? "", admin: admin.token, operator: op.token)
        _ = FileManager.default.createFile(atPath: path, contents: try JSONEncoder().encode(t),
                                       attributes: [.posixPermissions: 0o600])
        return t
    }
}

extension DemoTokens {
    /// SortScape's side of the demo: a few contacts the simulator's organisation also has (by
    /// name, by email, by phone), so the first sync shows suspected matches (R7), and a material
    /// named like one of its items, so the sync links the two (R12).
    static func seedSortScape(accountId: String, _ records: any SortScapeRecords) throws {
        let contacts = [
            ContactRecord(id: "", accountId: accountId, name: "jane  SMITH", email: "jane@smithfamily.example"),
            ContactRecord(id: "", accountId: accountId, name: "Greenleaf PM", email: "Maintenance@GreenleafPM.co.nz"),
            ContactRecord(id: "", accountId: accountId, name: "Tom Reid", phone: "021-555-0192"),
            ContactRecord(id: "", accountId: accountId, name: "Wiremu Tane", companyName: "Tane Landscapes", phone: "04 555 7788"),
        ]
        for c in contacts { try records.contacts.insert(c) }
        try records.materials.insert(MaterialRecord(id: "", accountId: accountId, name: "bark mulch 40L", unitPrice: 10_0000))
        let weedMat = try records.materials.insert(MaterialRecord(id: "", accountId: accountId, name: "Weed mat (per m²)",
                                                                  unitPrice: 4_5000))
        try seedVisits(accountId: accountId, records, weedMat: weedMat)
    }

    /// Visits to try invoicing (R15) on the Visits screen: two completed, one still open.
    static func seedVisits(accountId: String, _ records: any SortScapeRecords, weedMat: MaterialRecord) throws {
        let contacts = try records.contacts.list(RecordQuery(accountId: accountId, limit: 100)).items
        func contact(_ name: String) -> String { contacts.first { $0.name == name }?.id ?? contacts[0].id }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let completedAt = iso.string(from: Date().addingTimeInterval(-3600))
        try records.visits.insert(VisitRecord(id: "", accountId: accountId, contactId: contact("Wiremu Tane"), status: .completed,
                                              completedAt: completedAt, lines: [
            .material(weedMat.id, weedMat.name, quantity: 12_0000, unitPrice: weedMat.unitPrice),
            .labour("Laying weed mat", quantity: 2_5000, unitPrice: 65_0000),
        ]))
        try records.visits.insert(VisitRecord(id: "", accountId: accountId, contactId: contact("Tom Reid"), status: .completed,
                                              completedAt: completedAt, lines: [.labour("Hedge trimming", quantity: 1_7500, unitPrice: 60_0000)]))
        try records.visits.insert(VisitRecord(id: "", accountId: accountId, contactId: contact("Greenleaf PM"), lines: [
            .labour("Lawn mowing", quantity: 1_0000, unitPrice: 55_0000),
        ]))
    }
}

