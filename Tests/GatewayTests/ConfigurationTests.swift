import Crypto
import Foundation
import Gateway
import Testing

@Suite struct ConfigurationTests {
    let base = TestGateway.environment(dir: "/tmp/x")

    @Test func defaultsAndDerivedValues() throws {
        var env = base
        env["GATEWAY_LISTEN"] = nil
        env["GATEWAY_DB"] = nil
        let c = try Configuration.load(environment: env)
        #expect(c.listenHost == "127.0.0.1" && c.listenPort == 8080)
        #expect(c.databasePath == "./data/gateway.sqlite")
        #expect(c.redirectURI == "http://127.0.0.1:8080/oauth/xero/callback")
        #expect(c.xeroAPIURL == "https://api.xero.com")
        #expect(c.syncIntervalSeconds == 1800)
        #expect(c.xeroScopes == "offline_access openid profile email accounting.contacts accounting.settings accounting.invoices")
        #expect(!c.servesHTTPS)
        #expect(c.authFailuresPerMinute == 20)
    }

    /// Issue 14: a URL is never taken as a SQLite path; one the build cannot serve stops start-up
    /// with one line naming it, its password hidden; a PostgreSQL URL is the shared store.
    @Test func aDatabaseURLServeCannotUseStopsStartUpNamingItWithoutThePassword() throws {
        var postgres = base
        postgres["GATEWAY_DB"] = "postgres://gw:s3cret@db:5432/gw"
        #expect(try Configuration.load(environment: postgres).storeLocation == .postgres(url: "postgres://gw:s3cret@db:5432/gw"))
        for (url, shown) in [("mysql://gw:s3cret@db/gw", "mysql://gw:***@db/gw is not a database this build can serve")] {
            var env = base
            env["GATEWAY_DB"] = url
            #expect { try Configuration.load(environment: env) } throws: { error in
                let text = "\(error)"
                return text.hasPrefix("configuration error: GATEWAY_DB: \(shown)") && !text.contains("s3cret") && !text.contains("\n")
            }
        }
    }

    /// Issue 14: each gateway sharing a store is named, by GATEWAY_INSTANCE or its host and pid.
    @Test func theInstanceIsNamedByItsSettingOrItsHostAndPid() throws {
        let named = try Configuration.load(environment: base.merging(["GATEWAY_INSTANCE": "gw-2"]) { $1 })
        #expect(named.instanceName == "gw-2")
        let unnamed = try Configuration.load(environment: base)
        #expect(unnamed.instanceName == "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)")
        #expect { try Configuration.load(environment: base.merging(["GATEWAY_INSTANCE": "gw 2"]) { $1 }) } throws: {
            "\($0)".hasPrefix("configuration error: GATEWAY_INSTANCE:")
        }
    }

    @Test func scopesCanBeTheOlderBroadSet() throws {
        var env = base
        env["XERO_SCOPES"] = "  offline_access openid profile email accounting.contacts accounting.settings   accounting.transactions "
        let c = try Configuration.load(environment: env)
        #expect(c.xeroScopes == "offline_access openid profile email accounting.contacts accounting.settings accounting.transactions")
    }

    @Test func httpsPublicURLMeansSecureCookies() throws {
        let c = try Configuration.load(environment: base, overrides: ["GATEWAY_PUBLIC_URL": "https://gw.example.com"])
        #expect(c.servesHTTPS)
    }

    @Test func flagsOverrideTheEnvironment() throws {
        let c = try Configuration.load(environment: base, overrides: ["GATEWAY_LISTEN": "[::1]:9000", "GATEWAY_PUBLIC_URL": "https://gw.example.com/"])
        #expect(c.listenHost == "::1" && c.listenPort == 9000)
        #expect(c.redirectURI == "https://gw.example.com/oauth/xero/callback")
    }

    @Test(arguments: [
        ("GATEWAY_SECRET_KEY", nil), ("GATEWAY_SECRET_KEY", "c2hvcnQ="), ("GATEWAY_SECRET_KEY", "not base64!"),
        ("XERO_WEBHOOK_KEY", nil), ("XERO_CLIENT_ID", nil), ("XERO_CLIENT_SECRET", nil),
        ("GATEWAY_LISTEN", "8080"), ("GATEWAY_LISTEN", "127.0.0.1:99999"), ("GATEWAY_PUBLIC_URL", "ftp://x"),
        ("XERO_API_URL", "not a url"), ("SYNC_INTERVAL_SECONDS", "0"), ("SYNC_INTERVAL_SECONDS", "soon"), ("SYNC_PUSH_DEBOUNCE_MS", "-1"),
        ("XERO_SCOPES", "openid accounting.contacts"), ("XERO_SCOPES", "offline_access \"x\""),
        ("GATEWAY_SECRET_KEY_PREVIOUS", "c2hvcnQ="), ("GATEWAY_SECRET_KEY_PREVIOUS", "not base64!"),
        ("GATEWAY_AUTH_FAILURES_PER_MINUTE", "-1"), ("GATEWAY_AUTH_FAILURES_PER_MINUTE", "lots"),
    ] as [(String, String?)])
    func aMissingOrMalformedSettingIsNamed(setting: String, value: String?) {
        var env = base
        env[setting] = value
        #expect { try Configuration.load(environment: env) } throws: { error in
            guard let e = error as? ConfigurationError else { return false }
            return e.setting == setting && e.description.hasPrefix("configuration error: \(setting)")
        }
    }

    @Test func thePreviousSecretKeyIsOptional() throws {
        #expect(try Configuration.load(environment: base).previousSecretKey == nil)
        var env = base
        let previous = Crypto.randomBytes(32)
        env["GATEWAY_SECRET_KEY_PREVIOUS"] = Base64.encode(previous)
        #expect(try Configuration.load(environment: env).previousSecretKey == previous)
    }

    @Test func tlsCertificateWithoutKeyNamesTheMissingKey() {
        var env = base
        env["GATEWAY_TLS_CERT"] = "/tmp/cert.pem"
        #expect { try Configuration.load(environment: env) } throws: { ($0 as? ConfigurationError)?.setting == "GATEWAY_TLS_KEY" }
    }

    @Test func secretValuesAreNotEchoedInErrors() {
        var env = base
        env["GATEWAY_SECRET_KEY"] = "c3VwZXItc2VjcmV0LXZhbHVl"
        #expect { try Configuration.load(environment: env) } throws: { error in
            !"\(error)".contains("c3VwZXItc2VjcmV0LXZhbHVl")
        }
    }
}
