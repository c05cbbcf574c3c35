import HTTPServer
import Mustache

/// The admin screens' templates (swift-mustache; `{{name}}` is HTML-escaped, and no template
/// uses the unescaped forms). Pages are built only by rendering these with plain values.
enum AdminTemplates {
    static let layout = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
    <title>{{title}} · SortScape Xero gateway</title>
    <link rel="stylesheet" href="/admin/assets/screens.css"><script src="/admin/assets/screens.js" defer></script></head>
    <body>
    <header class="top"><span class="brand">SortScape · Xero</span>
    {{#signedIn}}<nav><a href="/admin/xero"{{#navXero}} aria-current="page"{{/navXero}}>Xero</a> <a href="/admin/contacts"{{#navContacts}} aria-current="page"{{/navContacts}}>Contacts</a>
    <a href="/admin/materials"{{#navMaterials}} aria-current="page"{{/navMaterials}}>Materials</a> <a href="/admin/visits"{{#navVisits}} aria-current="page"{{/navVisits}}>Visits</a>
    <a href="/admin/xero/matches">Link review</a></nav>
    <span class="who"><form class="inline" method="post" action="/admin/logout"><input type="hidden" name="csrf" value="{{csrf}}">
    Signed in as {{role}} · <button type="submit" class="link">Sign out</button></form>
    <form class="inline" method="post" action="/admin/logout-everywhere"><input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" class="link" id="logout-everywhere">Sign out everywhere</button></form></span>{{/signedIn}}</header>
    <main>
    <h1>{{title}}</h1>
    {{#message}}<p class="msg{{#isError}} err{{/isError}}" id="message">{{message}}</p>{{/message}}
    {{$body}}{{/body}}
    </main>
    </body></html>
    """

    static let login = """
    {{<layout}}{{$body}}
    <form method="post" action="/admin/login">
    <p><label for="token">Your SortScape token</label><br><input type="password" id="token" name="token" autocomplete="off" required size="50"></p>
    <p class="muted">Tokens are shown once, when they are made: the first administrator's by
    <code>xero-gateway account create</code>, everyone else's by <code>xero-gateway user create</code> (ask whoever runs the
    gateway). Signing in keeps you signed in on this browser for 12 hours.</p>
    <p><button type="submit" class="primary">Sign in</button></p>
    </form>
    {{/body}}{{/layout}}
    """

    static let message = """
    {{<layout}}{{$body}}<p><a href="/admin/xero">Back to the Xero screen</a></p>{{/body}}{{/layout}}
    """

    /// The Xero Integration screen. The live parts (ids `badge`, `last-sync`, `next-sync`,
    /// `result`, `pending`, `api-calls-left`, `sync`) are refreshed by `screens.js` from
    /// `/admin/xero/status.json` while a sync runs; without it the page is right as loaded.
    static let xero = """
    {{<layout}}{{$body}}
    <section class="card" id="connection" data-live="{{live}}">
    <h2>Connection <span class="badge {{badge}}" id="badge" data-state="{{state}}">{{badgeLabel}}</span></h2>
    <dl>
    <dt>State</dt><dd id="state" data-state="{{state}}">{{stateLabel}}</dd>
    {{#tenantName}}<dt>Organisation</dt><dd id="organisation">{{tenantName}}</dd>{{/tenantName}}
    {{#connectedAt}}<dt>Connected since</dt><dd>{{connectedAt}}</dd>{{/connectedAt}}
    <dt>Last sync</dt><dd id="last-sync">{{lastSync}}</dd>
    <dt>Result</dt><dd id="result" class="{{#resultFailed}}bad{{/resultFailed}}">{{result}}</dd>
    <dt>Next sync</dt><dd id="next-sync">{{nextSync}}</dd>
    <dt>To review</dt><dd id="pending" data-count="{{pendingMatches}}">{{pendingText}}</dd>
    <dt>Waiting to be archived</dt><dd id="waiting-archive">{{waitingArchiveText}}</dd>
    <dt>API calls left today</dt><dd id="api-calls-left">{{apiCallsLeft}}</dd>
    </dl>
    <p class="muted" id="times-note">{{timesNote}}</p>
    {{#canAct}}
    {{#canActivate}}<p>Activating lets this account connect one Xero organisation and keep its customers, properties and
    materials in step with it.</p><form method="post" action="/admin/xero/activate"><input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" class="primary" id="activate">Activate</button></form>{{/canActivate}}
    {{#canConnect}}<form method="get" action="/oauth/xero/connect"><button type="submit" class="primary" id="connect">Connect to Xero</button></form>{{/canConnect}}
    {{#canSync}}<form method="post" action="/admin/xero/sync"><input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" class="primary" id="sync"{{#syncing}} disabled{{/syncing}}>{{#syncing}}Syncing…{{/syncing}}{{^syncing}}Sync with Xero{{/syncing}}</button></form>{{/canSync}}
    {{#canSync}}<details class="confirm" id="disconnect-menu"><summary>Disconnect from Xero…</summary>
    <p>Disconnecting stops syncing and removes this gateway's connection at Xero. Nothing is deleted in SortScape or in Xero,
    and this account stays tied to {{tenantName}}: connecting again connects that organisation only.</p>
    <form method="post" action="/admin/xero/disconnect"><input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" class="danger" id="disconnect">Disconnect</button></form></details>{{/canSync}}
    {{/canAct}}
    {{^canAct}}<p id="read-only">Only an administrator can change the Xero connection.</p>{{/canAct}}
    <p id="review-link"{{^hasPendingMatches}} hidden{{/hasPendingMatches}}><a href="/admin/xero/matches">Link customers to existing contacts</a></p>
    </section>
    {{#canAct}}{{#choosing}}<section class="card"><h2>Choose the Xero organisation</h2>
    <form method="post" action="/admin/xero/organisation"><input type="hidden" name="csrf" value="{{csrf}}">
    {{#offered}}<p><label><input type="radio" name="tenantId" value="{{tenantId}}" required> {{tenantName}}</label></p>{{/offered}}
    <p><button type="submit" class="primary" id="choose">Connect this organisation</button></p></form></section>{{/choosing}}{{/canAct}}
    {{#hasEvents}}<section class="card" id="failed-events"><h2>Changes from Xero that failed</h2>
    <table><thead><tr><th>Received</th><th>Change</th><th>Why</th><th></th></tr></thead><tbody>
    {{#events}}<tr><td>{{receivedAt}}</td><td>{{what}}</td><td class="bad">{{why}}</td>
    <td>{{#canAct}}<form method="post" action="/admin/xero/events/{{id}}/replay"><input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" class="replay">Replay</button></form>{{/canAct}}</td></tr>{{/events}}
    </tbody></table></section>{{/hasEvents}}
    {{#hasWaiting}}<section class="card" id="waiting"><h2>Waiting to be archived</h2>
    <p>Xero archived these contacts, but a property of each still has a pending job or an open issue in SortScape. Each is
    archived here once those are done or cancelled.</p>
    <ul>{{#waiting}}<li>{{name}}</li>{{/waiting}}</ul></section>{{/hasWaiting}}
    <section class="card" id="runs"{{^hasRuns}} hidden{{/hasRuns}}><h2>Recent runs</h2>
    <table><thead><tr><th>Started</th><th>Run</th><th>Result</th></tr></thead><tbody id="runs-body">
    {{#runs}}<tr class="run {{state}}"><td>{{when}}</td><td>{{what}}<br><span class="muted">{{calls}}</span></td>
    <td><span class="badge {{state}}">{{stateLabel}}</span> {{result}}{{#errors}}<br><span class="bad">{{.}}</span>{{/errors}}</td></tr>{{/runs}}
    </tbody></table></section>
    {{/body}}{{/layout}}
    """

    /// R7's link review: per pending match Xero's values (left), the proposal as inputs (middle)
    /// and SortScape's (right); arrows on differing fields copy a side into the middle
    /// (`screens.js`; without it the inputs still work). Staff get the values read-only.
    static let matches = """
    {{<layout}}{{$body}}
    {{#hasItems}}<p class="lead">Each Xero contact below looks like a SortScape contact you already have. Choose the values both
    should carry, then link them, or import the Xero contact as a new one if they are not the same.</p>{{/hasItems}}
    {{^items}}<p id="no-matches">No customers are waiting to be linked.</p>{{/items}}
    {{#items}}<section class="card match" id="match-{{id}}" data-match="{{id}}">
    <h2>{{xeroName}} <span class="why">matched on {{reasons}}</span></h2>
    {{#canAct}}<form method="post" action="/admin/xero/matches/{{id}}/link"><input type="hidden" name="csrf" value="{{csrf}}">{{/canAct}}
    <table class="review">
    <thead><tr><th scope="col">Field</th><th scope="col">In Xero</th><th scope="col" class="arrow"></th>
    <th scope="col">Both will have</th><th scope="col" class="arrow"></th><th scope="col">In SortScape</th></tr></thead>
    <tbody>
    {{#fields}}<tr data-field="{{field}}"{{#differs}} class="differs"{{/differs}}>
    <th scope="row"><label for="{{inputId}}">{{label}}</label></th>
    <td class="xero" data-label="In Xero">{{xero}}{{#xeroBlank}}<span class="blank">blank</span>{{/xeroBlank}}</td>
    <td class="arrow">{{#canAct}}{{#differs}}<button type="button" class="copy take-xero" data-target="{{inputId}}" data-value="{{xero}}" title="Use Xero's {{label}}" aria-label="Use Xero's {{label}}">&rarr;</button>{{/differs}}{{/canAct}}</td>
    <td class="proposed"><input id="{{inputId}}" name="{{field}}" value="{{proposed}}"{{#required}} required{{/required}}{{^canAct}} readonly{{/canAct}}></td>
    <td class="arrow">{{#canAct}}{{#differs}}<button type="button" class="copy take-sortscape" data-target="{{inputId}}" data-value="{{sortscape}}" title="Use SortScape's {{label}}" aria-label="Use SortScape's {{label}}">&larr;</button>{{/differs}}{{/canAct}}</td>
    <td class="sortscape" data-label="In SortScape">{{sortscape}}{{#sortscapeBlank}}<span class="blank">blank</span>{{/sortscapeBlank}}</td>
    </tr>{{/fields}}
    </tbody></table>
    {{#canAct}}<p class="actions"><button type="submit" class="primary accept">Accept values and link</button>
    <button type="submit" class="dismiss" formaction="/admin/xero/matches/{{id}}/dismiss" formnovalidate>Not the same — import as new</button></p>
    </form>{{/canAct}}
    </section>{{/items}}
    {{^canAct}}<p id="read-only">Only an administrator can link or import these contacts.</p>{{/canAct}}
    <p><a href="/admin/xero">Back to the Xero screen</a></p>
    {{/body}}{{/layout}}
    """

    /// The one stylesheet of every screen (`GET /admin/assets/screens.css`): plain CSS, one
    /// column on a phone.
    static let stylesheet = """
    :root{--fg:#1d2330;--muted:#5d6575;--line:#d9dde5;--bg:#f5f6f8;--card:#fff;--accent:#13b5ea;--accent-dark:#0b7fa6;
    --ok:#1c7c3a;--ok-bg:#e6f4ea;--bad:#b3261e;--bad-bg:#fdecea;--warn:#8a5a00;--warn-bg:#fff4dc}
    *{box-sizing:border-box}
    body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0}
    header.top{display:flex;flex-wrap:wrap;gap:.4em 1.2em;align-items:center;padding:.6em 1em;background:#1d2330;color:#fff}
    header.top a{color:#fff}.brand{font-weight:700}header.top nav a{margin-right:.8em}
    .who{margin-left:auto;font-size:.9em}
    main{max-width:64em;margin:0 auto;padding:1em}
    h1{font-size:1.6em;margin:.4em 0 .6em}h2{font-size:1.15em;margin:0 0 .6em}
    a{color:var(--accent-dark)}
    .card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1em;margin:0 0 1em}
    dl{margin:0}dt{font-weight:600}dd{margin:0 0 .6em}
    .msg{padding:.7em 1em;border:1px solid var(--line);border-left:4px solid var(--accent);background:var(--card);border-radius:6px}
    .msg.err{border-left-color:var(--bad);background:var(--bad-bg);color:var(--bad)}
    .bad{color:var(--bad)}.muted,.why{color:var(--muted);font-weight:400;font-size:.85em}
    form.inline{display:inline}
    button{font:inherit;padding:.45em .9em;border:1px solid var(--line);border-radius:6px;background:#fff;color:var(--fg);cursor:pointer}
    button.primary{background:var(--accent);border-color:var(--accent);color:#fff;font-weight:600}
    button.link{border:0;background:none;color:#fff;text-decoration:underline;padding:0}
    button.copy{padding:.1em .5em;font-size:1.1em;line-height:1.2}
    input{font:inherit;padding:.4em .5em;border:1px solid var(--line);border-radius:6px;width:100%;min-width:8em}
    input[readonly]{background:var(--bg)}input[type=radio]{width:auto;min-width:0;margin-right:.4em}
    .badge{display:inline-block;padding:.15em .6em;border-radius:999px;font-size:.85em;font-weight:600;background:var(--bg)}
    .badge.connected{background:var(--ok-bg);color:var(--ok)}.badge.syncing{background:#e3f5fc;color:var(--accent-dark)}
    .badge.succeeded{background:var(--ok-bg);color:var(--ok)}.badge.running{background:#e3f5fc;color:var(--accent-dark)}
    .badge.needs_reconnect,.badge.failed{background:var(--bad-bg);color:var(--bad)}.badge.waiting{background:var(--warn-bg);color:var(--warn)}
    table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4em;border-bottom:1px solid var(--line);vertical-align:middle}
    table.review td.arrow,table.review th.arrow{width:2.5em;text-align:center}
    table.review tr.differs td.xero,table.review tr.differs td.sortscape{background:var(--warn-bg)}
    .blank{color:var(--muted);font-style:italic}
    .actions{display:flex;flex-wrap:wrap;gap:.6em;margin:.8em 0 0}
    @media (max-width:40em){
    .who{margin-left:0}
    table.review thead{display:none}
    table.review tr{display:grid;grid-template-columns:1fr 2.5em 1fr;gap:.2em .4em;padding:.5em 0;border-bottom:1px solid var(--line)}
    table.review th,table.review td{border:0;padding:.1em}
    table.review th[scope=row]{grid-column:1/-1}
    table.review td.xero{grid-column:1;grid-row:2}table.review td.arrow:nth-of-type(2){grid-column:2;grid-row:2}
    table.review td.proposed{grid-column:1/-1;grid-row:3}
    table.review td.arrow:nth-of-type(4){grid-column:2;grid-row:4}table.review td.sortscape{grid-column:3;grid-row:4}
    table.review button.copy{transform:rotate(90deg)}
    table.review td.xero::before,table.review td.sortscape::before{content:attr(data-label) ": ";color:var(--muted);font-size:.85em}
    }
    """

    /// The screens' one script (`GET /admin/assets/screens.js`): the review's arrows copy a
    /// side's value into the proposal. Every screen works without it.
    static let script = """
    "use strict";
    (function () {
      var card = document.getElementById("connection");
      if (!card || card.getAttribute("data-live") !== "true") { return; }
      function set(id, text) { var e = document.getElementById(id); if (e && text !== undefined) { e.textContent = text; } }
      function poll() {
        fetch("/admin/xero/status.json", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
          return r.ok ? r.json() : null;
        }).then(function (s) {
          if (!s) { setTimeout(poll, 5000); return; }
          var badge = document.getElementById("badge");
          if (badge) { badge.className = "badge " + s.badge; badge.textContent = s.badgeLabel; }
          if (badge && s.syncing && s.progress) { badge.textContent = s.badgeLabel + " · " + s.progress; }
          set("last-sync", s.lastSync); set("next-sync", s.nextSync); set("result", s.result);
          set("times-note", s.timesNote); set("pending", s.pendingText); set("waiting-archive", s.waitingArchiveText); set("api-calls-left", s.apiCallsLeft);
          var result = document.getElementById("result");
          if (result) { result.className = s.resultFailed ? "bad" : ""; }
          var link = document.getElementById("review-link");
          if (link) { link.hidden = !(s.pendingMatches > 0); }
          var runs = document.getElementById("runs-body");
          if (runs && s.runs) {
            runs.textContent = "";
            s.runs.forEach(function (run) {
              var tr = document.createElement("tr"), when = document.createElement("td"), what = document.createElement("td"),
                  result = document.createElement("td"), calls = document.createElement("span"), badge = document.createElement("span");
              tr.className = "run " + run.state;
              when.textContent = run.when;
              what.textContent = run.what; calls.className = "muted"; calls.textContent = run.calls;
              what.appendChild(document.createElement("br")); what.appendChild(calls);
              badge.className = "badge " + run.state; badge.textContent = run.stateLabel;
              result.appendChild(badge); result.appendChild(document.createTextNode(" " + run.result));
              run.errors.forEach(function (e) {
                var line = document.createElement("span"); line.className = "bad"; line.textContent = e;
                result.appendChild(document.createElement("br")); result.appendChild(line);
              });
              tr.appendChild(when); tr.appendChild(what); tr.appendChild(result); runs.appendChild(tr);
            });
            document.getElementById("runs").hidden = s.runs.length === 0;
          }
          var sync = document.getElementById("sync");
          if (sync) { sync.disabled = s.syncing; sync.textContent = s.syncing ? "Syncing… " + (s.progress ? "(" + s.progress + ")" : "") : "Sync with Xero"; }
          setTimeout(poll, s.live ? 1500 : 20000);
        }).catch(function () { setTimeout(poll, 5000); });
      }
      setTimeout(poll, 1000);
    })();
    document.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("button.copy") : null;
      if (!button) { return; }
      var input = document.getElementById(button.getAttribute("data-target"));
      if (!input) { return; }
      input.value = button.getAttribute("data-value");
      input.focus();
    });
    """

    /// The parsed templates; a template that does not parse stops start-up.
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        try library.register(layout, named: "layout")
        try library.register(login, named: "login")
        try library.register(message, named: "message")
        try library.register(xero, named: "xero")
        try library.register(matches, named: "matches")
        try registerRecordScreens(&library)
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
    /// (CSP `frame-ancestors`, and `X-Frame-Options` for older browsers), scripts, styles and
    /// fetches only from this site (`/admin/assets/…`, `/admin/xero/status.json`: nothing inline), no `<base>`,
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
            ("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self' \(configuration.xeroLoginURL); "
                + "frame-ancestors 'none'; base-uri 'none'"),
        ]
    }

    /// `GET /admin/assets/{name}`: the screens' stylesheet and script (anyone; no account data).
    func asset(_ request: Request) throws -> Response {
        let (type, text): (String, String)
        switch request.pathParameter("name") {
        case "screens.css": (type, text) = ("text/css; charset=utf-8", AdminTemplates.stylesheet + "\n" + AdminTemplates.recordStylesheet)
        case "screens.js": (type, text) = ("text/javascript; charset=utf-8", AdminTemplates.script)
        default: throw HTTPError(404, code: "not_found", message: "no such asset")
        }
        return Response(status: 200, headers: HTTPHeaders([("Content-Type", type), ("Cache-Control", "no-cache"),
                                                           ("X-Content-Type-Options", "nosniff")]),
                        body: Array(text.utf8))
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
