#!/usr/bin/env python3
"""Drives xero-sim with Xero's official Python SDK (xero-python from PyPI).

The bar: for every call the gateway makes, the SDK cannot tell the simulator from Xero. Each
check sets state up through the simulator's control API, calls the SDK, and asserts that the
answer deserialised into the SDK's models and holds what the control API put there.

Usage: check.py --base http://127.0.0.1:PORT --client-id ID --client-secret SECRET
Prints one line per check and ends with "N passed, M failed"; exits 1 on any failure.
"""
import argparse
import base64
import datetime
import json
import sys
import time
import traceback
import urllib.parse
import urllib.request

import urllib3
from decimal import Decimal

from xero_python.accounting import (AccountingApi, Address, Contact, Contacts, Invoice, Invoices, Item, Items,
                                    LineAmountTypes, LineItem, Phone, Purchase)
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import ApiException, NotFoundException, RateLimitException
from xero_python.identity import IdentityApi

REDIRECT = "http://localhost:8080/oauth/xero/callback"
SCOPE = "openid profile email offline_access accounting.contacts accounting.settings accounting.transactions"
DUPLICATE = ("The contact name Harbour View Cafe is already assigned to another contact. "
             "The contact name must be unique across all active contacts.")


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn):
        started = time.monotonic()
        try:
            detail = fn()
            self.passed += 1
            took = time.monotonic() - started
            print(f"ok    {name}" + (f" ({detail})" if detail else "") + (f" [{took:.1f} s]" if took >= 0.05 else ""), flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, the run goes on
            self.failed += 1
            message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            print(f"FAIL  {name}: {type(e).__name__}: {message}", flush=True)
            if os_env_verbose():
                traceback.print_exc()


def os_env_verbose():
    import os
    return os.environ.get("SDK_CHECK_VERBOSE") == "1"


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


class Control:
    """The simulator's control API (plain HTTP)."""

    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                text = r.read()
        except urllib.error.HTTPError as e:
            raise AssertionError(f"control {method} {path}: {e.code} {e.read()[:300]!r}") from None
        return json.loads(text) if text else None

    def advance(self, seconds):
        return self.call("POST", "/sim/clock", {"advanceSeconds": seconds})

    def now(self):
        return datetime.datetime.fromisoformat(self.call("GET", "/sim/clock")["now"].replace("Z", "+00:00"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    args = ap.parse_args()
    base = args.base.rstrip("/")
    sim = Control(base)
    checks = Checks()

    # Point every SDK endpoint at the simulator: the token endpoint (class attributes of
    # TokenApi), identity (IdentityApi base_url) and accounting (AccountingApi base_url).
    TokenApi.refresh_token_url = base + "/connect/token"
    TokenApi.revoke_token_url = base + "/connect/revocation"
    TokenApi.client_credentials_token_url = base + "/connect/token"

    store = {}
    api_client = ApiClient(Configuration(oauth2_token=OAuth2Token(client_id=args.client_id,
                                                                  client_secret=args.client_secret)),
                           pool_threads=1)

    @api_client.oauth2_token_getter
    def get_token():
        return store.get("token")

    @api_client.oauth2_token_saver
    def save_token(token):
        store["token"] = token

    identity = IdentityApi(api_client, base_url=base)
    accounting = AccountingApi(api_client, base_url=base + "/api.xro/2.0")
    state = {}

    # ---- state through the control API -------------------------------------------------
    def setup():
        sim.call("POST", "/sim/reset", {"seed": "empty"})
        a = sim.call("POST", "/sim/organisations", {"name": "SDK Check Landscaping Ltd"})["tenantId"]
        b = sim.call("POST", "/sim/organisations", {"name": "SDK Check (AU) Pty Ltd", "baseCurrency": "AUD"})["tenantId"]
        sim.call("POST", "/sim/logins", {"email": "owner@sdkcheck.test", "firstName": "Sam", "lastName": "Tane",
                                         "tenantIds": [a, b]})
        contacts = [{
            "Name": "Harbour View Cafe", "FirstName": "Aroha", "LastName": "Ngata", "ContactNumber": "CUST-0042",
            "EmailAddress": "accounts@harbourviewcafe.co.nz", "IsCustomer": True,
            "Addresses": [{"AddressType": "POBOX", "AddressLine1": "PO Box 5123", "City": "Wellington", "PostalCode": "6140",
                           "Country": "New Zealand"},
                          {"AddressType": "STREET", "AddressLine1": "12 Oriental Parade", "City": "Wellington",
                           "Region": "Wellington", "PostalCode": "6011", "Country": "New Zealand", "AttentionTo": "Aroha"}],
            "Phones": [{"PhoneType": "DEFAULT", "PhoneCountryCode": "64", "PhoneAreaCode": "04", "PhoneNumber": "384 9921"},
                       {"PhoneType": "MOBILE", "PhoneCountryCode": "64", "PhoneAreaCode": "021", "PhoneNumber": "555 0192"}],
        }, {"Name": "Kauri Timber Supplies", "EmailAddress": "orders@kauritimber.co.nz", "IsSupplier": True}]
        contacts += [{"Name": f"SDK Customer {n:03d}", "EmailAddress": f"customer{n:03d}@example.com",
                      "IsCustomer": n % 2 == 0, "ContactStatus": "ARCHIVED" if n % 25 == 0 else "ACTIVE"}
                     for n in range(1, 151)]
        made = sim.call("POST", f"/sim/organisations/{a}/contacts", {"Contacts": contacts, "webhooks": False})
        ids = made["ids"]
        sim.call("POST", f"/sim/organisations/{a}/items", {"Items": [
            {"Code": "SVC-MOW", "Name": "Lawn mowing (per visit)", "Description": "Lawn mowing, per visit",
             "SalesDetails": {"UnitPrice": 65.0, "AccountCode": "200", "TaxType": "OUTPUT2"}},
            {"Code": "MAT-PAVER-SQ", "Name": "Concrete paver 400x400", "Description": "Concrete paver, charcoal",
             "SalesDetails": {"UnitPrice": "8.1250", "AccountCode": "200", "TaxType": "OUTPUT2"},
             "PurchaseDetails": {"UnitPrice": "4.0625", "AccountCode": "300", "TaxType": "INPUT2"}},
        ]})
        state.update(a=a, b=b, cafe=ids[0], supplier=ids[1], ids=ids,
                     archived=ids[2 + 24], active=ids[2], active_total=2 + 150 - 6, total=152)
        return f"2 organisations, {len(ids)} contacts, 2 items"

    checks.run("control API: organisations, login, contacts and items", setup)

    # ---- identity ---------------------------------------------------------------------------
    def exchange_code():
        redirect = sim.call("POST", "/sim/consent", {"login": "owner@sdkcheck.test", "redirectUri": REDIRECT,
                                                     "state": "sdk-state", "scope": SCOPE,
                                                     "clientId": args.client_id})["redirect"]
        query = urllib.parse.parse_qs(urllib.parse.urlparse(redirect).query)
        expect(query["state"] == ["sdk-state"], f"state echoed: {query.get('state')}")
        basic = base64.b64encode(f"{args.client_id}:{args.client_secret}".encode()).decode()
        # The SDK has no code-exchange helper: its own HTTP layer posts the form, as TokenApi does.
        response, status, _ = api_client.call_api(
            base + "/connect/token", "POST",
            header_params={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded",
                           "Authorization": "Basic " + basic},
            post_params={"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT},
            auth_settings=None, _preload_content=False)
        expect(status == 200, f"token status {status}")
        token = TokenApi(api_client, args.client_id, args.client_secret).parse_token_response(response)
        for key in ("access_token", "refresh_token", "id_token", "expires_in", "token_type", "scope"):
            expect(key in token, f"token response lacks {key}")
        expect(token["expires_in"] == 1800 and token["token_type"] == "Bearer", "expires_in/token_type")
        token["scope"] = token["scope"].split()
        api_client.set_oauth2_token(token)
        state["refresh1"] = token["refresh_token"]
        claims = json.loads(base64.urlsafe_b64decode(token["access_token"].split(".")[1] + "=="))
        state["auth_event"] = claims["authentication_event_id"]
        return "authorization_code grant, Basic client auth"

    checks.run("token exchange (authorization code)", exchange_code)

    def refresh():
        new = api_client.refresh_oauth2_token()
        expect(new and new["refresh_token"] != state["refresh1"], "refresh token rotated")
        state["refresh2"] = new["refresh_token"]
        return "refresh_oauth2_token rotated the refresh token"

    checks.run("token refresh (SDK refresh_oauth2_token)", refresh)

    def use_refresh(token_value):
        current = dict(store["token"])
        current["refresh_token"] = token_value
        api_client.set_oauth2_token(current)
        return api_client.refresh_oauth2_token()

    def reuse_inside_grace():
        sim.advance(20 * 60)
        new = use_refresh(state["refresh1"])
        expect(new and new["access_token"], "a new token set")
        state["refresh3"] = new["refresh_token"]
        return "previous refresh token accepted 20 minutes after rotation"

    checks.run("previous refresh token inside the 30-minute grace", reuse_inside_grace)

    def reuse_after_grace():
        sim.advance(11 * 60)
        try:
            use_refresh(state["refresh1"])
        except ApiException as e:  # the token endpoint's 400 surfaces as the SDK's HTTPStatusException
            expect(e.status == 400 and json.loads(e.body) == {"error": "invalid_grant"}, f"unexpected error: {e}")
        else:
            raise AssertionError("the previous refresh token still worked 31 minutes after rotation")
        new = use_refresh(state["refresh3"])  # the newest one carries on
        expect(new and new["access_token"], "refresh with the newest token")
        return "400 invalid_grant 31 minutes after rotation; newest token still fine"

    checks.run("previous refresh token after the grace period", reuse_after_grace)

    def connections():
        conns = identity.get_connections()
        expect(len(conns) == 2, f"{len(conns)} connections")
        expect({c.tenant_id for c in conns} == {state["a"], state["b"]}, "tenant ids")
        expect({c.tenant_name for c in conns} == {"SDK Check Landscaping Ltd", "SDK Check (AU) Pty Ltd"}, "tenant names")
        expect(all(isinstance(c.created_date_utc, datetime.datetime) for c in conns), "created_date_utc is a datetime")
        expect(all(c.auth_event_id == state["auth_event"] for c in conns), "authEventId matches the token")
        filtered = identity.get_connections(auth_event_id=state["auth_event"])
        expect(len(filtered) == 2, "filtered by authEventId")
        return f"{len(conns)} connections, dates {conns[0].created_date_utc.isoformat()}"

    checks.run("get_connections (+ auth_event_id)", connections)

    # ---- contacts -------------------------------------------------------------------------
    def contacts_paging():
        a = state["a"]
        page1 = accounting.get_contacts(a, page=1)
        expect(page1.pagination.page == 1 and page1.pagination.page_size == 100, "pagination page/pageSize")
        expect(page1.pagination.item_count == state["active_total"], f"itemCount {page1.pagination.item_count}")
        expect(len(page1.contacts) == 100, f"{len(page1.contacts)} on page 1")
        page2 = accounting.get_contacts(a, page=2, page_size=100)
        expect(len(page2.contacts) == state["active_total"] - 100, f"{len(page2.contacts)} on page 2")
        small = accounting.get_contacts(a, page=3, page_size=50)
        expect(small.pagination.page_count == 3 and len(small.contacts) == state["active_total"] - 100, "pageSize 50")
        names = [c.name for c in page1.contacts + page2.contacts]
        expect(names == sorted(names, key=str.lower), "ordered by name")
        return f"itemCount {page1.pagination.item_count}, pageCount {page1.pagination.page_count}"

    checks.run("get_contacts page / page_size", contacts_paging)

    def contacts_values():
        a = state["a"]
        one = accounting.get_contacts(a, i_ds=[state["cafe"]], page=1).contacts
        expect(len(one) == 1, "one contact by id")
        c = one[0]
        expect(c.name == "Harbour View Cafe" and c.first_name == "Aroha" and c.contact_number == "CUST-0042", "names")
        expect(c.email_address == "accounts@harbourviewcafe.co.nz", "email")
        expect(c.is_customer is True and c.is_supplier is False, "flags")
        expect(c.contact_status == "ACTIVE", "status")
        street = next(x for x in c.addresses if x.address_type == "STREET")
        pobox = next(x for x in c.addresses if x.address_type == "POBOX")
        expect((street.address_line1, street.city, street.postal_code, street.attention_to) ==
               ("12 Oriental Parade", "Wellington", "6011", "Aroha"), "street address")
        expect(pobox.address_line1 == "PO Box 5123", "postal address")
        phones = {p.phone_type: (p.phone_country_code, p.phone_area_code, p.phone_number) for p in c.phones}
        expect(phones["DEFAULT"] == ("64", "04", "384 9921") and phones["MOBILE"] == ("64", "021", "555 0192"), "phones")
        expect(set(phones) >= {"DEFAULT", "DDI", "FAX", "MOBILE"}, "the four phone types")
        expect(isinstance(c.updated_date_utc, datetime.datetime) and c.updated_date_utc.tzinfo, "UpdatedDateUTC")
        expect(c.balances is not None, "balances on a paged call")
        return "addresses, split phones, flags and dates as seeded"

    checks.run("get_contacts values match the control API", contacts_values)

    def contacts_ids_archived():
        a = state["a"]
        ids = [state["active"], state["archived"]]
        without = accounting.get_contacts(a, i_ds=ids)
        expect([c.contact_id for c in without.contacts] == [state["active"]], "archived left out by default")
        both = accounting.get_contacts(a, i_ds=ids, include_archived=True)
        expect({c.contact_id for c in both.contacts} == set(ids), "both with include_archived")
        expect(any(c.contact_status == "ARCHIVED" for c in both.contacts), "ARCHIVED status")
        everything = accounting.get_contacts(a, include_archived=True, page=1, page_size=1000)
        expect(everything.pagination.item_count == state["total"], f"itemCount {everything.pagination.item_count}")
        return f"{len(both.contacts)} by id with archived, {everything.pagination.item_count} in all"

    checks.run("get_contacts i_ds / include_archived", contacts_ids_archived)

    def contacts_if_modified_since():
        a = state["a"]
        sim.advance(5)
        mark = sim.now()
        sim.advance(5)
        sim.call("PATCH", f"/sim/organisations/{a}/contacts/{state['active']}", {"EmailAddress": "changed@example.com"})
        sim.call("POST", f"/sim/organisations/{a}/contacts/{state['supplier']}/archive")
        changed = accounting.get_contacts(a, if_modified_since=mark, include_archived=True)
        got = {c.contact_id: c for c in changed.contacts}
        expect(set(got) == {state["active"], state["supplier"]}, f"{len(got)} changed contacts")
        expect(got[state["active"]].email_address == "changed@example.com", "the new email")
        expect(got[state["supplier"]].contact_status == "ARCHIVED", "the archived one")
        return f"{len(got)} changed since {mark.isoformat()}"

    checks.run("get_contacts if_modified_since", contacts_if_modified_since)

    def contacts_duplicate():
        a = state["a"]
        result = accounting.update_or_create_contacts(
            a, Contacts(contacts=[
                Contact(name="Tidewater Plumbing Ltd", email_address="office@tidewater.co.nz",
                        phones=[Phone(phone_type="MOBILE", phone_country_code="64", phone_area_code="027",
                                      phone_number="555 0111")],
                        addresses=[Address(address_type="STREET", address_line1="7 Wharf Road", city="Nelson")]),
                Contact(name="Harbour View Cafe", email_address="hello@harbourviewcafe.co.nz"),
            ]), summarize_errors=False)
        ok, bad = result.contacts
        expect(ok.status_attribute_string == "OK" and ok.contact_id and not ok.has_validation_errors, "first element OK")
        expect(bad.status_attribute_string == "ERROR" and bad.has_validation_errors, "second element ERROR")
        expect([e.message for e in bad.validation_errors] == [DUPLICATE], f"message: {bad.validation_errors}")
        mobile = next(p for p in ok.phones if p.phone_type == "MOBILE")
        expect(mobile.phone_number == "555 0111", "phone stored")
        created = accounting.get_contact(a, ok.contact_id).contacts[0]
        expect(created.name == "Tidewater Plumbing Ltd", "created contact readable by id")
        try:
            accounting.get_contact(a, "00000000-0000-0000-0000-0000000000aa")
        except NotFoundException:
            pass
        else:
            raise AssertionError("unknown contact did not raise NotFoundException")
        return "OK + ERROR with Xero's duplicate-name message; 404 is NotFoundException"

    checks.run("update_or_create_contacts summarize_errors=False (duplicate name)", contacts_duplicate)

    # ---- items ------------------------------------------------------------------------------
    def items_get():
        a = state["a"]
        items = {i.code: i for i in accounting.get_items(a).items}
        expect(set(items) == {"SVC-MOW", "MAT-PAVER-SQ"}, f"codes {sorted(items)}")
        expect(items["SVC-MOW"].sales_details.unit_price == Decimal("65"), "price")
        expect(items["SVC-MOW"].name == "Lawn mowing (per visit)", "name")
        four = {i.code: i for i in accounting.get_items(a, unitdp=4).items}
        expect(four["MAT-PAVER-SQ"].sales_details.unit_price == Decimal("8.1250"), "4dp sales price")
        expect(four["MAT-PAVER-SQ"].purchase_details.unit_price == Decimal("4.0625"), "4dp purchase price")
        expect(items["MAT-PAVER-SQ"].sales_details.unit_price == Decimal("8.13"), "2dp without unitdp")
        expect(isinstance(items["SVC-MOW"].updated_date_utc, datetime.datetime), "UpdatedDateUTC")
        return "prices at 2 and 4 decimal places"

    checks.run("get_items (+ unitdp=4)", items_get)

    def items_write():
        a = state["a"]
        made = accounting.update_or_create_items(a, Items(items=[
            Item(code="SVC-HEDGE", name="Hedge trimming (hourly)", description="Hedge trimming, per hour",
                 sales_details=Purchase(unit_price=Decimal("72.50"), account_code="200", tax_type="OUTPUT2")),
            Item(code="SVC-MOW", name="Lawn mowing (standard section)"),
        ]), summarize_errors=False)
        expect([i.status_attribute_string for i in made.items] == ["OK", "OK"], "both OK")
        items = {i.code: i for i in accounting.get_items(a).items}
        expect(items["SVC-HEDGE"].sales_details.unit_price == Decimal("72.5"), "new item price")
        expect(items["SVC-MOW"].name == "Lawn mowing (standard section)", "updated by code")
        expect(items["SVC-MOW"].sales_details.unit_price == Decimal("65"), "untouched price kept")
        dup = accounting.create_items(a, Items(items=[Item(code="SVC-HEDGE")]), summarize_errors=False).items[0]
        expect(dup.validation_errors[0].message == "Price List Item with Code 'SVC-HEDGE' already exists", "duplicate code")
        return f"{len(items)} items after create + update by code; duplicate code refused"

    checks.run("update_or_create_items", items_write)

    # ---- invoices ---------------------------------------------------------------------------
    def invoice(contact_id, amount):
        return Invoices(invoices=[Invoice(
            type="ACCREC", contact=Contact(contact_id=contact_id), status="AUTHORISED",
            date=datetime.date(2026, 7, 22), due_date=datetime.date(2026, 8, 21),
            line_amount_types=LineAmountTypes.EXCLUSIVE, reference="Visit 1042",
            line_items=[LineItem(item_code="SVC-MOW", description="Lawn mowing - visit 1042", quantity=Decimal("2"),
                                 unit_amount=Decimal(amount), account_code="200", tax_type="OUTPUT2"),
                        LineItem(description="Green waste removal", quantity=Decimal("3.5"), unit_amount=Decimal("95"),
                                 account_code="200")])])

    def invoices_idempotent():
        a = state["a"]
        target = state["ids"][4]  # SDK Customer 003: active, not yet a customer
        before = accounting.get_contact(a, target).contacts[0]
        first = accounting.create_invoices(a, invoice(target, "349"), idempotency_key="sdk-visit-1042").invoices[0]
        second = accounting.create_invoices(a, invoice(target, "349"), idempotency_key="sdk-visit-1042").invoices[0]
        expect(first.invoice_id and first.invoice_id == second.invoice_id, "same InvoiceID on replay")
        expect(first.invoice_number == second.invoice_number == "INV-0001", f"number {first.invoice_number}")
        expect((first.sub_total, first.total_tax, first.total) == (Decimal("1030.50"), Decimal("154.58"), Decimal("1185.08")),
               f"totals {first.sub_total} {first.total_tax} {first.total}")
        expect([li.tax_amount for li in first.line_items] == [Decimal("104.70"), Decimal("49.88")], "per-line tax rounding")
        expect(first.date == datetime.date(2026, 7, 22) and first.due_date == datetime.date(2026, 8, 21), "dates")
        expect(first.status == "AUTHORISED" and first.line_amount_types == LineAmountTypes.EXCLUSIVE, "status, amount type")
        expect(first.contact.contact_id == target and first.contact.is_customer is True, "contact became a customer")
        try:
            accounting.create_invoices(a, invoice(target, "350"), idempotency_key="sdk-visit-1042")
        except ApiException as e:
            expect(e.status == 400, f"status {e.status}")
        else:
            raise AssertionError("a different body under the same key was accepted")
        all_invoices = accounting.get_invoices(a).invoices
        expect(len(all_invoices) == 1, f"{len(all_invoices)} invoices exist")
        after = accounting.get_contact(a, target).contacts[0]
        expect(after.updated_date_utc == before.updated_date_utc, "IsCustomer flip left UpdatedDateUTC alone")
        return f"{first.invoice_number} once, total {first.total}; different body -> 400"

    checks.run("create_invoices with idempotency_key sent twice", invoices_idempotent)

    def invoice_archived_contact():
        a = state["a"]
        try:
            accounting.create_invoices(a, invoice(state["archived"], "10"))
        except ApiException as e:
            expect(e.status == 400 and "archived" in str(e.reason), f"reason {e.reason}")
            return f"400: {e.reason}"
        raise AssertionError("an archived contact was accepted on an invoice")

    checks.run("create_invoices refuses an archived contact", invoice_archived_contact)

    # ---- errors and limits ------------------------------------------------------------------
    def forbidden_tenant():
        other = sim.call("POST", "/sim/organisations", {"name": "Never Connected Ltd"})["tenantId"]
        try:
            accounting.get_contacts(other)
        except ApiException as e:
            expect(e.status == 403, f"status {e.status}")
            return "403 for a tenant the token does not cover"
        raise AssertionError("no 403")

    checks.run("403 for an unconnected tenant", forbidden_tenant)

    def rate_limit():
        b = state["b"]
        # urllib3, under the SDK, honours Retry-After on a GET's 429 by sleeping and retrying
        # (it would wait out the minute and succeed). Turn that off here to see the 429 itself.
        pool = api_client.rest_client.pool_manager
        pool.connection_pool_kw["retries"] = urllib3.Retry(total=0, respect_retry_after_header=False, raise_on_status=False)
        pool.clear()
        sim.call("POST", "/sim/limits", {"resetCounters": True})
        statuses = []
        for _ in range(61):
            try:
                accounting.get_items(b)
                statuses.append(200)
            except RateLimitException as e:
                statuses.append(429)
                state["limit"] = (e.rate_limit, e.headers.get("Retry-After"))
        expect(statuses.count(429) == 1 and statuses[-1] == 429, f"{statuses.count(429)} x 429")
        expect(state["limit"][0] == "minute" and int(state["limit"][1]) > 0, f"problem {state['limit']}")
        accounting.get_items(state["a"])  # the other tenant is unaffected
        return f"60 x 200 then RateLimitException(rate_limit='minute', Retry-After={state['limit'][1]})"

    checks.run("61 calls in a minute: one RateLimitException", rate_limit)

    print(f"{checks.passed} passed, {checks.failed} failed", flush=True)
    return 0 if checks.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
