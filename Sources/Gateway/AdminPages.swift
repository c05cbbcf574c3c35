import HTTPServer
import Mustache

/// The admin screens' templates (swift-mustache; `{{name}}` is HTML-escaped, and no template
/// uses the unescaped forms). Pages are built only by rendering these with plain values.
enum AdminTemplates {
    static let layout = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
    <title>{{title}} · SortScape Xero gateway</title>
    <style>body{font-family:system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em}
    dt{font-weight:600}dd{margin:0 0 .6em}.msg{padding:.6em;border:1px solid #bbb;background:#f6f6f6}
    .err{border-color:#c33;background:#fdeeee}form.inline{display:inline}</style></head>
    <body>
    {{#signedIn}}<form class="inline" method="post" action="/admin/logout"><input type="hidden" name="csrf" value="{{csrf}}">
    Signed in as {{role}} · <button type="submit">Sign out</button></form>
    <form class="inline" method="post" action="/admin/logout-everywhere"><input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" id="logout-everywhere">Sign out everywhere</button></form>{{/signedIn}}
    <h1>{{title}}</h1>
    {{#message}}<p class="msg{{#isError}} err{{/isError}}" id="message">{{message}}</p>{{/message}}
    {{$body}}{{/body}}
    </body></html>
    """

    static let login = """
    {{<layout}}{{$body}}
    <form method="post" action="/admin/login">
    <p><label>Your SortScape token<br><input type="password" name="token" autocomplete="off" required size="50"></label></p>
    <p><button type="submit">Sign in</button></p>
    </form>
    {{/body}}{{/layout}}
    """

    static let message = """
    {{<layout}}{{$body}}<p><a href="/admin/xero">Back to the Xero screen</a></p>{{/body}}{{/layout}}
    """

    static let xero = """
    {{<layout}}{{$body}}
    <dl id="connection">
    <dt>Connection</dt><dd id="state" data-state="{{state}}">{{stateLabel}}</dd>
    {{#tenantName}}<dt>Organisation</dt><dd id="organisation">{{tenantName}}</dd>{{/tenantName}}
    {{#connectedAt}}<dt>Connected since</dt><dd>{{connectedAt}}</dd>{{/connectedAt}}
    <dt>Last sync</dt><dd id="last-sync">{{lastSync}}</dd>
    <dt>Next sync</dt><dd id="next-sync">{{nextSync}}</dd>
    <dt>Pending matches</dt><dd id="pending-matches">{{pendingMatches}}</dd>
    <dt>API calls left today</dt><dd id="api-calls-left">{{apiCallsLeft}}</dd>
    </dl>
    {{#canAct}}
    {{#canActivate}}<form method="post" action="/admin/xero/activate"><input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" id="activate">Activate</button></form>{{/canActivate}}
    {{#choosing}}<h2>Choose the Xero organisation</h2>
    <form method="post" action="/admin/xero/organisation"><input type="hidden" name="csrf" value="{{csrf}}">
    {{#offered}}<p><label><input type="radio" name="tenantId" value="{{tenantId}}" required> {{tenantName}}</label></p>{{/offered}}
    <p><button type="submit" id="choose">Connect this organisation</button></p></form>{{/choosing}}
    {{#canConnect}}<form method="get" action="/oauth/xero/connect"><button type="submit" id="connect">Connect to Xero</button></form>{{/canConnect}}
    {{#canSync}}<form method="post" action="/admin/xero/sync"><input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" id="sync">Sync with Xero</button></form>
    {{#hasPendingMatches}}<p><a href="/admin/xero/matches">Link customers to existing contacts</a></p>{{/hasPendingMatches}}{{/canSync}}
    {{/canAct}}
    {{^canAct}}<p id="read-only">Only an administrator can change the Xero connection.</p>{{/canAct}}
    {{/body}}{{/layout}}
    """

    /// The parsed templates; a template that does not parse stops start-up.
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        try library.register(layout, named: "layout")
        try library.register(login, named: "login")
        try library.register(message, named: "message")
        try library.register(xero, named: "xero")
        return library
    }
}

extension Gateway {
    /// Renders a screen: every page goes through here, and takes `pageHeaders`.
    func render(_ status: Int, _ template: String, _ context: [String: Any]) -> Response {
        let html = templates.render(context, withTemplate: template) ?? "<!doctype html><title>error</title>page unavailable"
        return Response(status: status, headers: HTTPHeaders([("Content-Type", "text/html; charset=utf-8")] + pageHeaders),
                        body: Array(html.utf8))
    }

    /// The headers of every HTML page: never cached, never sniffed as anything else, never framed
    /// (CSP `frame-ancestors`, and `X-Frame-Options` for older browsers), no scripts, no `<base>`,
    /// forms only to this site (and Xero's login, where "Connect to Xero" is redirected: browsers
    /// check a form's redirects too). `Referrer-Policy: same-origin`, not `no-referrer`: with
    /// `no-referrer` a browser sends `Origin: null` on the sign-in form's POST, and the sign-in's
    /// cross-site check (its `Origin`) would refuse it; `same-origin` still tells no other site
    /// anything.
    var pageHeaders: [(name: String, value: String)] {
        [
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
            ("X-Frame-Options", "DENY"),
            ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' \(configuration.xeroLoginURL); "
                + "frame-ancestors 'none'; base-uri 'none'"),
        ]
    }

    /// A page that says one thing (errors included).
    func page(_ status: Int, title: String, message: String, session: BrowserSession? = nil) -> Response {
        var context: [String: Any] = ["title": title, "message": message, "isError": status >= 400]
        if let session { context["signedIn"] = true; context["csrf"] = session.csrf; context["role"] = session.user.role.rawValue }
        return render(status, "message", context)
    }

    func loginPage(status: Int, message: String?) -> Response {
        var context: [String: Any] = ["title": "Sign in", "isError": status >= 400]
        if let message { context["message"] = message }
        return render(status, "login", context)
    }
}
