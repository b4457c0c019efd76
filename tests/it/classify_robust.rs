//! Integration tests of `bouncekit classify` on input that once crashed it or lost messages:
//! non-ASCII where only ASCII was expected, mutated fixtures, odd line endings, mbox files and
//! broken entries inside directories, undeclared charsets, broken MIME and oversized messages.
//! Every test states the contract that broke: no panic, every message gets a record, and the
//! run goes on.

use serde_json::Value;

use crate::common::*;

/// The `source` of every record, in order.
fn sources(records: &[Value]) -> Vec<&str> {
    records.iter().map(|r| text(r, "source")).collect()
}

// ---------------------------------------------------------------------------------------------
// Non-ASCII text where the classifier looked at fixed byte offsets
// ---------------------------------------------------------------------------------------------

#[test]
fn non_ascii_in_dsn_fields_and_own_address_is_read_not_a_crash() {
    let sb = Sandbox::new();
    let dsn = sb.fixture("dsn_non_ascii_fields.eml");
    let next = sb.fixture("exim_user_unknown.eml");
    let records = sb
        .run(&["classify", "--own-address", "Zażółć@x.pl", &dsn, &next])
        .ok_records();
    assert_eq!(
        sources(&records),
        vec![dsn.as_str(), &dsn, &next],
        "{records:#?}"
    );
    check(
        "Final-Recipient: rfc822é ...",
        &records[0],
        &[
            ("recipient", is("anna@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("reporting_mta", is("éutlook.com")),
            ("remote_mta", is("mx.przykład.pl")),
            ("envelope_id", is("ENV-ŁÓDŹ-0001")),
            ("diagnostic", line_with(&["Użytkownik nieznany"])),
            ("error", missing()),
        ],
    );
    check(
        "Reporting-MTA: dns; éutlook.com",
        &records[1],
        &[
            ("recipient", is("Zażółć@example.pl")),
            ("kind", is("soft")),
            ("reason", is("filtered")),
            ("error", missing()),
        ],
    );
    check(
        "the next message",
        &records[2],
        &[("recipient", is("adam@example.org")), ("kind", is("hard"))],
    );
    // The same address given as the user's own is never the failed recipient.
    let records = sb
        .run(&["classify", "--own-address", "Zażółć@example.pl", &dsn])
        .ok_records();
    check(
        "own non-ASCII address",
        single(&records),
        &[("recipient", is("anna@example.org"))],
    );
}
