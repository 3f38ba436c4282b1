import logging

import sqlalchemy as sa

CVC = "731"
CARDS = ["4242424242424242", "4000000000000002", "4000000000009995", "4000000000000119", "5555555555554444",
         "4242424242424241"]   # every test card, an unknown one, and one that fails the Luhn check
TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb")


def secret_part(number):
    """What of a card number may never be kept: all but its last four digits."""
    return number[:-4]


def text_columns(session):
    return session.execute(sa.text(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND data_type IN :types ORDER BY table_name, column_name"
    ).bindparams(sa.bindparam("types", expanding=True)), {"types": list(TEXT_TYPES)}).all()


def rows_containing(session, table, column, pattern):
    """How many rows of the column match the POSIX regular expression."""
    return session.scalar(sa.text(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ~ :pattern'),
                          {"pattern": pattern})


def test_no_card_number_or_cvc_is_kept_in_any_table_or_written_to_any_log(session, caplog, capfd, check_out, pay,
                                                                          buyer, seller, listed_item):
    caplog.set_level(logging.DEBUG)
    answers = []
    for number in CARDS:
        # Each checkout takes the new item (the earlier ones are held by their pending orders, or sold).
        order = check_out(buyer, listed_item(seller)).json
        for exp_year in (2020, 2099):   # refused as expired, then charged
            answers.append(pay(buyer, order, number, exp_year=exp_year, cvc=CVC, status=None).status_code)
    assert answers == [422, 200, 422, 402, 422, 402, 422, 402, 422, 402, 422, 422]

    kept = [(table, column, number) for table, column in text_columns(session) for number in CARDS
            if rows_containing(session, table, column, secret_part(number))]
    kept += [(table, column, "cvc") for table, column in text_columns(session)
             if rows_containing(session, table, column, f"(^|[^0-9A-Za-z]){CVC}([^0-9A-Za-z]|$)|cvc")]
    assert kept == []
    assert ("payments", "card_last4") in text_columns(session)   # the scan does look where a card could be

    # Every record whole (message, arguments, extra fields, traceback), and whatever reached stdout or stderr.
    logged = caplog.text + " ".join(repr(vars(record)) for record in caplog.records) + "".join(capfd.readouterr())
    assert "/pay" in logged   # the requests were logged, with their paths
    assert [number for number in CARDS if secret_part(number) in logged] == []
    assert f'"{CVC}"' not in logged and f" {CVC} " not in logged
