"""Orders CSV: items as JSON or one per line, lines of one order_id grouped."""

from __future__ import annotations

from chat_server.domain import crm_rules

HEADER = "external_id,order_id,total,currency,placed_at,sku,name,quantity,price,items\n"


def parse(body: str) -> crm_rules.CsvReport:
    return crm_rules.orders_csv((HEADER + body).encode())


def test_item_lines_of_one_order_make_one_order_with_a_computed_total() -> None:
    report = parse(
        "c1,o1,,IDR,2026-11-01T10:00:00Z,A,Kaos,2,85000,\n"
        "c2,o2,50000,,,,,,,\n"
        "c1,o1,,,,B,Tas,1,120000,\n"
        'c1,o1,,,,,,,,"[{""sku"": ""C"", ""quantity"": 3, ""price"": 1000}]"\n'
    )
    assert report.errors == []
    (line1, first), (line2, second) = report.rows
    assert (line1, first["external_id"], line2, second["external_id"]) == (2, "c1", 3, "c2")
    order = first["order"]
    assert [(i["sku"], i["quantity"], i["price"]) for i in order.items] == [
        ("A", 2, 85000.0),
        ("B", 1, 120000.0),
        ("C", 3, 1000.0),
    ]
    assert order.total == 2 * 85000 + 120000 + 3 * 1000
    assert order.placed_at == "2026-11-01T10:00:00.000Z"
    assert second["order"].total == 50000 and second["order"].items == []


def test_a_bad_order_is_skipped_with_all_its_lines_named() -> None:
    report = parse(
        "c1,o1,100,IDR,,A,Kaos,1,100,\n"
        "c9,o1,,,,B,Tas,1,1,\n"  # another customer on the same order
        "c2,o2,,,,X,Topi,dua,1000,\n"
        "c3,o3,,,,,,,,not json\n"
        ",o4,10,,,,,,,\n"
        "c5,,10,,,,,,,\n"
        "c6,o6,,,,,,,,\n"  # neither a total nor items
        "c7,o7,70,,,,,,,\n"
    )
    assert [row["order"].order_id for _, row in report.rows] == ["o7"]
    assert report.errors == [
        "line 7: 'order_id' is required",
        "lines 2, 3: 'external_id' differs from line 2 of order o1",
        "line 4: 'quantity' must be a positive whole number",
        "line 5: 'items' is not valid JSON",
        "line 6: 'external_id' must be a string of 1 to 128 characters",
        "line 8: 'total' must be a number",
    ]
