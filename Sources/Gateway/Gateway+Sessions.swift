import Crypto
import Foundation
import HTTPServer
import Store

/// The signed-in browser user of `/admin` and `/oauth/xero/*`.
struct BrowserSession {
    let user: User
    /// SHA-256 of the cookie value: what the store keys the session (and its OAuth states) by.
    let hash: [UInt8]
    /// The session's CSRF token, the hidden `csrf` field of every form.
    let csrf: String
}

/// An answer that is a page, not JSON (thrown by screen handlers).
struct PageError: HTTPResponseError {
    let response: Response
}

extension SecretKey.Purpose {
    /// Keys the HMAC of the admin screens' CSRF tokens.
    public static let csrf = SecretKey.Purpose(info: "xero-gateway csrf v1")
}

extension Gateway {
    static let sessionCookie = "xg_session"
    /// Browser sessions last 12 hours.
    static let sessionLifetime: Int64 = 12 * 3600 * 1000
    /// Largest form body the screens accept.
    static let maxFormBytes = 8 * 1024

    // MARK: - sessions

    /// The session cookie's name: `__Host-xg_session` when the gateway serves HTTPS (a browser then
    /// keeps it only with `Secure`, `Path=/` and no `Domain`, so no other host or path can plant or
    /// shadow it), `xg_session` over plain HTTP (where browsers refuse the prefix).
    var sessionCookieName: String { configuration.servesHTTPS ? "__Host-" + Gateway.sessionCookie : Gateway.sessionCookie }

    /// The session the request's cookie names, if it is live.
    func browserSession(_ request: Request) throws(HTTPError) -> BrowserSession? {
        guard let value = Gateway.cookie(sessionCookieName, in: request), value.utf8.count == 43 else { return nil }
        let hash = Crypto.sha256(Array(value.utf8))
        let session = try store { () throws(StoreError) in try sessions.session(tokenHash: hash, now: clock.nowMilliseconds()) }
        guard let session else { return nil }
        return BrowserSession(user: session.user, hash: hash, csrf: csrfToken(sessionHash: hash))
    }

    /// The session's CSRF token: an HMAC of the session's hash under the CSRF subkey of the
    /// gateway's secret key, so nothing more is stored and nobody without the key can make one.
    /// Only the current key's subkey counts: a token made under the raw key (before subkeys) or
    /// the previous key stops validating at once; the session itself lives on, and reloading
    /// the page gives its forms the current token.
    func csrfToken(sessionHash: [UInt8]) -> String {
        Base64.encodeURL(Crypto.hmacSHA256(key: csrfKey, message: Array("csrf:".utf8) + sessionHash))
    }

    /// The live session of an account admin, for a screen: no session → 401 page; staff or
    /// operator → 403 page.
    func adminSession(_ request: Request) throws -> BrowserSession {
        guard let s = try browserSession(request) else {
            throw PageError(response: page(401, title: "Sign in", message: "Sign in at /admin first."))
        }
        guard s.user.role == .admin, s.user.accountId != nil else {
            throw PageError(response: page(403, title: "Not allowed", message: "This needs an administrator of the account."))
        }
        return s
    }

    /// The form of a POST from a screen, its CSRF token checked (missing or wrong → 403).
    func checkedForm(_ request: Request, _ session: BrowserSession) throws -> [String: String] {
        let form = try Gateway.parseForm(request)
        guard let sent = form["csrf"],
              Crypto.constantTimeEquals(Array(sent.utf8), Array(session.csrf.utf8)) else {
            throw PageError(response: page(403, title: "Form expired",
                                           message: "The form was missing its security token or it did not match. Reload the page and try again."))
        }
        return form
    }

    // MARK: - handlers

    /// `GET /admin`: the signed-in user goes to the Xero screen; anyone else gets the sign-in page.
    func adminHome(_ request: Request) throws -> Response {
        if try browserSession(request) != nil { return Gateway.seeOther("/admin/xero") }
        return loginPage(status: 200, message: nil)
    }

    /// `POST /admin/login` (form `token`): a session cookie and 303 to `/admin`; a bad token is a
    /// 401 page and stores nothing.
    func login(_ request: Request) throws -> Response {
        // Login CSRF: a form on another site must not sign a browser into someone else's
        // account. Browsers name the page a POST came from; clients that name none may sign in.
        let origin = configuration.publicURL.lowercased()
        if let o = request.headers["Origin"]?.lowercased(), o != origin {
            return loginPage(status: 403, message: "Sign in from this site's own sign-in page.")
        }
        if request.headers["Origin"] == nil, let r = request.headers["Referer"]?.lowercased(),
           r != origin, !r.hasPrefix(origin + "/") {
            return loginPage(status: 403, message: "Sign in from this site's own sign-in page.")
        }
        let form = try Gateway.parseForm(request)
        guard let token = form["token"]?.trimmingCharacters(in: .whitespaces), !token.isEmpty else {
            return loginPage(status: 401, message: "Enter your token.")
        }
        if let wait = throttledAuthentication(request, via: .signIn) {
            var r = loginPage(status: 429, message: "Too many wrong tokens were tried from your address. Try again in \(wait) seconds.")
            r.headers.add("Retry-After", "\(wait)")
            return r
        }
        let user = try accounts.authenticate(token: token)
        guard let user else {
            authenticationFailed(request, via: .signIn)
            return loginPage(status: 401, message: "That token is not valid.")
        }
        guard user.accountId != nil else {
            return loginPage(status: 403, message: "Operators have no account screens; use the API with your token.")
        }
        let value = Base64.encodeURL(Crypto.randomBytes(32))
        let now = clock.nowMilliseconds()
        try sessions.createSession(tokenHash: Crypto.sha256(Array(value.utf8)), userId: user.id,
                                   expiresAt: now + Gateway.sessionLifetime, now: now)
        logger.info("signed in", metadata: ["userId": "\(user.id)", "role": "\(user.role.rawValue)"])
        var r = Gateway.seeOther("/admin")
        r.headers.add("Set-Cookie", sessionCookie(value, maxAge: Int(Gateway.sessionLifetime / 1000)))
        return r
    }

    /// `POST /admin/logout` (CSRF-checked): ends the session.
    func logout(_ request: Request) throws -> Response {
        guard let s = try browserSession(request) else { return Gateway.seeOther("/admin") }
        _ = try checkedForm(request, s)
        try sessions.deleteSession(tokenHash: s.hash)
        var r = Gateway.seeOther("/admin")
        r.headers.add("Set-Cookie", sessionCookie("", maxAge: 0))
        return r
    }

    func sessionCookie(_ value: String, maxAge: Int) -> String {
        var c = "\(sessionCookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax"
        if configuration.servesHTTPS { c += "; Secure" }
        return c
    }

    // MARK: - HTTP helpers

    static func seeOther(_ location: String) -> Response {
        Response(status: 303, headers: HTTPHeaders([("Location", location), ("Cache-Control", "no-store")]))
    }

    /// A cookie's value from the `Cookie` header.
    static func cookie(_ name: String, in request: Request) -> String? {
        guard let header = request.headers["Cookie"] else { return nil }
        for part in header.split(separator: ";") {
            let p = part.trimmingCharacters(in: .whitespaces)
            guard let eq = p.firstIndex(of: "=") else { continue }
            if p[..<eq] == name { return String(p[p.index(after: eq)...]) }
        }
        return nil
    }

    /// An `application/x-www-form-urlencoded` body, parsed strictly: at most 8 KiB, every pair
    /// `name=value`, valid percent-escapes and UTF-8, no name twice. Anything else is a 4xx.
    static func parseForm(_ request: Request) throws(HTTPError) -> [String: String] {
        let type = (request.headers["Content-Type"] ?? "").split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/x-www-form-urlencoded" else {
            throw HTTPError(415, code: "unsupported_media_type", message: "send application/x-www-form-urlencoded")
        }
        guard request.body.count <= maxFormBytes else {
            throw HTTPError(413, code: "body_too_large", message: "forms are limited to \(maxFormBytes) bytes")
        }
        var form: [String: String] = [:]
        if request.body.isEmpty { return form }
        for pair in request.body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
            guard let eq = pair.firstIndex(of: UInt8(ascii: "=")),
                  let name = percentDecode(pair[pair.startIndex..<eq]), !name.isEmpty,
                  let value = percentDecode(pair[pair.index(after: eq)...]) else {
                throw HTTPError(400, code: "invalid_form", message: "the form body is not well-formed")
            }
            guard form[name] == nil else {
                throw HTTPError(400, code: "invalid_form", message: "the form field \(name.prefix(40)) appears twice")
            }
            form[name] = value
        }
        return form
    }

    static func percentDecode(_ bytes: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "+") {
                out.append(0x20)
            } else if b == UInt8(ascii: "%") {
                guard bytes.distance(from: i, to: bytes.endIndex) >= 3,
                      let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) else { return nil }
                out.append(h << 4 | l)
                i += 2
            } else {
                out.append(b)
            }
            i += 1
        }
        guard let s = String(validating: out, as: UTF8.self), !s.utf8.contains(0) else { return nil }
        return s
    }
}
