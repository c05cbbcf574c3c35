import Mustache

/// The record screens' templates: contacts (with their properties and the action menu holding
/// "Create contact in Xero"), materials (linked ones read-only, R13) and visits (with "Complete"
/// and "Create Xero invoice", R15). Like the others, `{{name}}` is HTML-escaped and no template
/// uses the unescaped forms. Staff get the same pages without the actions.
extension AdminTemplates {
    /// The action menu of one contact (a `<details>` dropdown: no script needed). Admins only;
    /// a linked contact shows its link instead.
    static let contactActions = """
    {{#canCreate}}<details class="menu"><summary>Actions</summary><div class="menu-items">
    <form method="post" action="/admin/contacts/{{id}}/xero"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="back" value="{{back}}">
    <button type="submit" class="create-in-xero">Create contact in Xero</button></form></div></details>{{/canCreate}}
    {{#needsConnection}}<span class="muted">Connect to Xero to create it there</span>{{/needsConnection}}
    """

    static let contacts = """
    {{<layout}}{{$body}}
    <form method="get" action="/admin/contacts" class="search" role="search"><label for="q">Search</label>
    <input type="search" id="q" name="q" value="{{q}}" maxlength="100" placeholder="Name, company, email or phone">
    <button type="submit">Search</button>{{#searching}} <a href="/admin/contacts">Show all</a>{{/searching}}</form>
    {{#searchNote}}<p class="muted" id="search-note">{{searchNote}}</p>{{/searchNote}}
    {{^hasItems}}<p id="no-contacts">{{emptyText}}</p>{{/hasItems}}
    {{#hasItems}}<table class="list" id="contacts"><thead><tr><th>Name</th><th>Email</th><th>Phone</th><th>Xero</th><th></th></tr></thead><tbody>
    {{#items}}<tr data-contact="{{id}}"><td data-label="Name"><a href="/admin/contacts/{{id}}">{{name}}</a>{{#companyName}}<br><span class="muted">{{companyName}}</span>{{/companyName}}</td>
    <td data-label="Email">{{email}}</td><td data-label="Phone">{{phone}}</td>
    <td data-label="Xero"><span class="badge {{linkBadge}} link-state">{{linkLabel}}</span></td>
    <td class="actions-cell">{{>contactActions}}</td></tr>{{/items}}
    </tbody></table>{{/hasItems}}
    <p class="pager">{{#paged}}<a href="/admin/contacts">First page</a>{{/paged}} {{#nextPage}}<a href="{{nextPage}}" id="next-page">Next page</a>{{/nextPage}}</p>
    {{/body}}{{/layout}}
    """

    static let contact = """
    {{<layout}}{{$body}}
    <section class="card" id="contact" data-contact="{{id}}">
    <div class="card-head"><h2>{{name}} <span class="badge {{linkBadge}}" id="link-state">{{linkLabel}}</span>{{#archived}} <span class="badge waiting">Archived</span>{{/archived}}</h2>
    {{>contactActions}}</div>
    <dl>{{#fields}}<dt>{{label}}</dt><dd>{{value}}{{^value}}<span class="blank">blank</span>{{/value}}</dd>{{/fields}}</dl>
    <p class="muted">{{linkWords}}</p>
    </section>
    <section class="card" id="properties"><h2>Properties</h2>
    {{^properties}}<p>No properties.</p>{{/properties}}
    {{#properties}}<p class="property">{{address}} <span class="muted">· {{source}}{{#archived}} · archived{{/archived}}</span></p>{{/properties}}
    </section>
    {{^canAct}}<p id="read-only">Only an administrator can create contacts in Xero.</p>{{/canAct}}
    <p><a href="/admin/contacts">All contacts</a></p>
    {{/body}}{{/layout}}
    """

    static let materials = """
    {{<layout}}{{$body}}
    <p class="lead">Materials linked to a Xero item are managed in Xero: edit them there, and the change comes here with the
    next sync. The others are SortScape's own{{#canAct}}, and you can edit them here{{/canAct}}.</p>
    {{^hasItems}}<p id="no-materials">No materials yet.</p>{{/hasItems}}
    {{#hasItems}}<table class="list" id="materials"><thead><tr><th>Name</th><th>Code</th><th class="num">Unit price</th><th>Xero</th><th></th></tr></thead><tbody>
    {{#items}}<tr data-material="{{id}}"><td data-label="Name">{{name}}{{#description}}<br><span class="muted">{{description}}</span>{{/description}}</td>
    <td data-label="Code">{{code}}</td><td data-label="Unit price" class="num">{{unitPrice}}</td>
    <td data-label="Xero">{{#linked}}<span class="badge connected">Linked to a Xero item</span><br><span class="muted managed">Read-only here: managed in Xero</span>{{/linked}}{{^linked}}<span class="badge waiting">Not in Xero</span>{{/linked}}</td>
    <td>{{#editable}}<a href="/admin/materials/{{id}}" class="edit">Edit</a>{{/editable}}{{^editable}}<a href="/admin/materials/{{id}}">View</a>{{/editable}}</td></tr>{{/items}}
    </tbody></table>{{/hasItems}}
    <p class="pager">{{#paged}}<a href="/admin/materials">First page</a>{{/paged}} {{#nextPage}}<a href="{{nextPage}}">Next page</a>{{/nextPage}}</p>
    {{/body}}{{/layout}}
    """

    static let material = """
    {{<layout}}{{$body}}
    <section class="card" id="material" data-material="{{id}}">
    {{#linked}}<p id="managed-in-xero" class="msg">This material is linked to a Xero item and is managed in Xero: edit it there.
    Changes made in Xero come here with the next sync, so it cannot be edited here.</p>{{/linked}}
    {{#editable}}<form method="post" action="/admin/materials/{{id}}"><input type="hidden" name="csrf" value="{{csrf}}">
    <p class="field"><label for="name">Name</label><input id="name" name="name" value="{{name}}" required maxlength="255"></p>
    <p class="field"><label for="code">Code</label><input id="code" name="code" value="{{code}}" maxlength="255"></p>
    <p class="field"><label for="description">Description</label><input id="description" name="description" value="{{description}}" maxlength="4000"></p>
    <p class="field"><label for="unitPrice">Unit price</label><input id="unitPrice" name="unitPrice" value="{{unitPriceInput}}" inputmode="decimal" required></p>
    <p class="muted">Up to 4 decimals, before tax. It is not in Xero yet: the first invoice that uses it creates (or links) its Xero item.</p>
    <p class="actions"><button type="submit" class="primary" id="save">Save</button> <a href="/admin/materials">Cancel</a></p></form>{{/editable}}
    {{^editable}}<dl>{{#fields}}<dt>{{label}}</dt><dd>{{value}}{{^value}}<span class="blank">blank</span>{{/value}}</dd>{{/fields}}</dl>
    {{^linked}}<p id="read-only">Only an administrator can edit materials.</p>{{/linked}}{{/editable}}
    </section>
    <p><a href="/admin/materials">All materials</a></p>
    {{/body}}{{/layout}}
    """

    static let visits = """
    {{<layout}}{{$body}}
    {{^hasItems}}<p id="no-visits">No visits yet.</p>{{/hasItems}}
    {{#hasItems}}<table class="list" id="visits"><thead><tr><th>Visit</th><th>Customer</th><th>Status</th><th class="num">Total before tax</th><th>Xero invoice</th></tr></thead><tbody>
    {{#items}}<tr data-visit="{{id}}"><td data-label="Visit"><a href="/admin/visits/{{id}}">{{when}}</a></td><td data-label="Customer">{{contactName}}</td>
    <td data-label="Status"><span class="badge {{statusBadge}}">{{statusLabel}}</span></td><td data-label="Total" class="num">{{total}}</td>
    <td data-label="Xero invoice">{{#invoiced}}{{xeroInvoiceNumber}} · {{xeroInvoiceStatus}}{{/invoiced}}{{^invoiced}}<span class="muted">none</span>{{/invoiced}}</td></tr>{{/items}}
    </tbody></table>{{/hasItems}}
    <p class="pager">{{#paged}}<a href="/admin/visits">First page</a>{{/paged}} {{#nextPage}}<a href="{{nextPage}}">Next page</a>{{/nextPage}}</p>
    {{/body}}{{/layout}}
    """

    static let visit = """
    {{<layout}}{{$body}}
    <section class="card" id="visit" data-visit="{{id}}">
    <h2>Visit for <a href="/admin/contacts/{{contactId}}">{{contactName}}</a> <span class="badge {{statusBadge}}" id="visit-status">{{statusLabel}}</span></h2>
    <dl>{{#property}}<dt>Property</dt><dd>{{property}}</dd>{{/property}}
    <dt>Created</dt><dd>{{created}}</dd><dt>Completed</dt><dd id="completed">{{completed}}</dd></dl>
    <table class="list" id="lines"><thead><tr><th>Line</th><th class="num">Quantity</th><th class="num">Unit price</th><th class="num">Amount</th></tr></thead><tbody>
    {{#lines}}<tr><td data-label="Line">{{description}} <span class="muted">· {{kindLabel}}</span></td><td data-label="Quantity" class="num">{{quantity}}</td>
    <td data-label="Unit price" class="num">{{unitPrice}}</td><td data-label="Amount" class="num">{{amount}}</td></tr>{{/lines}}
    {{^lines}}<tr><td colspan="4">No lines yet.</td></tr>{{/lines}}
    </tbody><tfoot><tr><th colspan="3">Total before tax</th><td class="num" id="total" data-label="Total before tax">{{total}}</td></tr></tfoot></table>
    </section>
    <section class="card" id="invoice"><h2>Xero invoice</h2>
    {{#invoiced}}<dl><dt>Number</dt><dd id="invoice-number">{{xeroInvoiceNumber}}</dd>
    <dt>Status</dt><dd><span class="badge invoiced" id="invoice-status">{{xeroInvoiceStatus}}</span> {{invoiceStatusWords}}</dd></dl>{{/invoiced}}
    {{^invoiced}}<p id="not-invoiced">{{invoiceText}}</p>{{/invoiced}}
    {{#canAct}}
    {{#canComplete}}<form method="post" action="/admin/visits/{{id}}/complete"><input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" class="primary" id="complete">Complete</button></form>{{/canComplete}}
    {{#canInvoice}}<form method="post" action="/admin/visits/{{id}}/invoice"><input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" class="primary" id="create-invoice">Create Xero invoice</button></form>{{/canInvoice}}
    {{/canAct}}
    {{^canAct}}<p id="read-only">Only an administrator can complete visits and create their invoices.</p>{{/canAct}}
    </section>
    <p><a href="/admin/visits">All visits</a></p>
    {{/body}}{{/layout}}
    """

    /// What the record screens add to `screens.css`: list tables that stack on a phone, the
    /// action menu, forms.
    static let recordStylesheet = """
    header.top nav a[aria-current=page]{font-weight:700;text-decoration:none;border-bottom:2px solid var(--accent)}
    .num{text-align:right;font-variant-numeric:tabular-nums}
    .lead{margin:0 0 1em}
    .card-head{display:flex;flex-wrap:wrap;gap:.6em;align-items:flex-start;justify-content:space-between}
    details.menu{display:inline-block;position:relative}
    details.menu>summary{list-style:none;cursor:pointer;padding:.35em .8em;border:1px solid var(--line);border-radius:6px;background:#fff}
    details.menu>summary::-webkit-details-marker{display:none}
    details.menu>summary::after{content:" \\25BE"}
    details.menu[open]>.menu-items{position:absolute;right:0;z-index:2;background:#fff;border:1px solid var(--line);border-radius:6px;
    padding:.4em;min-width:15em;box-shadow:0 4px 12px rgba(0,0,0,.12)}
    .menu-items button{width:100%;text-align:left;border:0}.menu-items button:hover{background:var(--bg)}
    details.confirm{margin:.8em 0 0}details.confirm>summary{cursor:pointer;color:var(--bad)}
    details.confirm[open]{border:1px solid var(--bad-bg);border-radius:6px;padding:.6em}
    button.danger{background:var(--bad);border-color:var(--bad);color:#fff;font-weight:600}
    form.search{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;margin:0 0 1em}form.search input{flex:1;width:auto}
    .pager{display:flex;gap:1em}.field{margin:0 0 .8em}label{font-weight:600}
    .badge.open{background:var(--warn-bg);color:var(--warn)}.badge.completed{background:#e3f5fc;color:var(--accent-dark)}
    .badge.invoiced{background:var(--ok-bg);color:var(--ok)}
    .property{margin:.2em 0}
    @media (max-width:40em){
    table.list thead{display:none}
    table.list tr{display:block;border-bottom:1px solid var(--line);padding:.4em 0}
    table.list td,table.list th{display:block;border:0;padding:.15em .2em;text-align:left}
    table.list td[data-label]::before{content:attr(data-label) ": ";color:var(--muted);font-size:.85em}
    details.menu[open]>.menu-items{position:static}
    }
    """

    static func registerRecordScreens(_ library: inout MustacheLibrary) throws {
        try library.register(contactActions, named: "contactActions")
        try library.register(contacts, named: "contacts")
        try library.register(contact, named: "contact")
        try library.register(materials, named: "materials")
        try library.register(material, named: "material")
        try library.register(visits, named: "visits")
        try library.register(visit, named: "visit")
    }
}
