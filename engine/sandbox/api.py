"""The endpoint table: every route, its error family and its rate-limit tier.

Tiers (the real assignment is unpublished): Low = collection listings that can return up to
1000 rows; Medium = account metadata and bulk/async operations (enrolments, campaign sends,
list and data-field creation); High = single-record calls made once per event (contacts,
list membership, transactional email, SMS, CPaaS).
"""

from __future__ import annotations

from engine.sandbox import contacts, cpaas, v2
from engine.sandbox.routing import Router

LOW, MEDIUM, HIGH = "Low", "Medium", "High"


def build_router() -> Router:
    r = Router()
    r.add("GET", "/v2/account-info", v2.account_info, "v2", MEDIUM)
    r.add("GET", "/v2/data-fields", v2.list_data_fields, "v2", MEDIUM)
    r.add("POST", "/v2/data-fields", v2.create_data_field, "v2", MEDIUM)
    r.add("GET", "/v2/address-books", v2.list_address_books, "v2", LOW)
    r.add("POST", "/v2/address-books", v2.create_address_book, "v2", MEDIUM)
    r.add("GET", "/v2/address-books/{addressBookId}", v2.get_address_book, "v2", MEDIUM)
    r.add(
        "DELETE", "/v2/address-books/{addressBookId}/contacts/{contactId}", v2.remove_list_member, "v2", HIGH
    )
    r.add("GET", "/v2/programs", v2.list_programs, "v2", LOW)
    r.add("POST", "/v2/programs/enrolments", v2.enrol, "v2", MEDIUM)
    r.add("GET", "/v2/programs/enrolments/{enrolmentId}", v2.get_enrolment, "v2", MEDIUM)
    r.add("GET", "/v2/programs/{programId}", v2.get_program, "v2", MEDIUM)
    r.add("GET", "/v2/campaigns", v2.list_campaigns, "v2", LOW)
    r.add("POST", "/v2/campaigns/send", v2.send_campaign, "v2", MEDIUM)
    r.add("POST", "/v2/campaigns/send-time-optimised", v2.send_campaign_optimised, "v2", MEDIUM)
    r.add("POST", "/v2/email", v2.send_email, "v2", HIGH)
    r.add("POST", "/v2/sms-messages/send-to/{telephoneNumber}", v2.send_sms, "v2", HIGH)
    r.add("GET", "/contacts/v3/{identifier}/{value}", contacts.get_contact, "v3", HIGH)
    r.add("PATCH", "/contacts/v3/{identifier}/{value}", contacts.patch_contact, "v3", HIGH)
    r.add("DELETE", "/contacts/v3/{identifier}/{value}", contacts.delete_contact, "v3", HIGH)
    r.add("POST", "/cpaas/messages", cpaas.send_message, "cpaas", HIGH)
    r.add("GET", "/cpaas/messages/{messageId}", cpaas.get_message, "cpaas", HIGH)
    return r
