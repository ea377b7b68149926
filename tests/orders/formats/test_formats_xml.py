"""Torgsoft orders as XML, and XML that must never fetch or expand anything."""

from __future__ import annotations

import socket
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from formats_helpers import parse_sample
from lxml import etree

from shopsync.orders.formats import parse_order_file
from shopsync.orders.formats.xml_orders import XXE_REASON, safe_parser
from shopsync.orders.model import OrderLine, UnreadableFile

SECRET = "top-secret-line-from-a-local-file"


def test_sample_maps_like_the_json():
    parsed = parse_sample("torgsoft_orders.xml")
    assert parsed.format == "torgsoft_xml"
    order = parsed.orders[0]
    assert order.source_format == "torgsoft_xml"
    assert order.external_number == "SITE-10240"
    assert order.customer.full_name == "Гнатюк Богдан Миколайович"
    assert order.customer.phones == ["+38 097 765 43 21"]
    assert order.customer.city == "Житомир"
    assert order.customer.email == "b.hnatiuk@i.ua"
    assert order.order_date == datetime(2024, 5, 17, 8, 15)
    assert order.delivery_branch == "Відділення №7: вул. Київська, 77"
    assert order.payment_status == "cod"
    assert order.comment == "Після 18:00"
    assert order.lines == [
        OrderLine(good_ref="45", good_id=45, quantity=Decimal(1), price=Decimal("610.00")),
        OrderLine(good_ref="46", good_id=46, quantity=Decimal(1), price=Decimal("610.00")),
    ]


def test_single_order_root_attributes_and_child_elements():
    xml = (
        '<order><Client Name="Іван"><MPhone>0501112233</MPhone></Client><Options OrderNumber="A-1"/>'
        "<Goods><Good><GoodID>5</GoodID><Price>10</Price><Count>2</Count></Good></Goods></order>"
    )
    parsed = parse_order_file(xml.encode(), "order.xml")
    order = parsed.orders[0]
    assert (order.external_number, order.customer.full_name, order.customer.phones) == ("A-1", "Іван", ["0501112233"])
    assert order.lines == [OrderLine(good_ref="5", good_id=5, quantity=Decimal(2), price=Decimal(10))]


def test_cp1251_xml_with_its_declaration():
    xml = ('<?xml version="1.0" encoding="windows-1251"?>\n<orders><order><Client><Name>Ґанна</Name></Client>'
           '<Options><OrderNumber>W-1</OrderNumber></Options><Goods><Good GoodID="1" Price="1" Count="1"/></Goods>'
           "</order></orders>")
    assert parse_order_file(xml.encode("cp1251"), "o.xml").orders[0].customer.full_name == "Ґанна"


def test_bad_xml_order_is_rejected_alone():
    xml = ("<orders><order><Client><Name><b>x</b></Name></Client><Options><OrderNumber>1</OrderNumber></Options>"
           '<Goods><Good GoodID="1" Price="1" Count="1"/></Goods></order>'
           '<order><Options><OrderNumber>2</OrderNumber></Options><Goods><Good GoodID="1" Price="1" Count="1"/>'
           "</Goods></order></orders>")
    parsed = parse_order_file(xml.encode(), "o.xml")
    assert [order.external_number for order in parsed.orders] == ["2"]
    assert parsed.rejected[0].reasons == ["the field Client.Name should be text, not an object"]


@pytest.mark.parametrize("fmt", ["prom", "rozetka", "woocommerce"])
def test_xml_only_for_torgsoft(fmt: str):
    with pytest.raises(UnreadableFile, match="XML order files are accepted only in the Torgsoft layout"):
        parse_order_file(b"<orders/>", "o.xml", fmt)


def _xxe(system_id: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE orders [<!ENTITY e SYSTEM "{system_id}">]>\n'
        "<orders><order><Client><Name>&e;</Name></Client><Options><OrderNumber>1</OrderNumber></Options>"
        '<Goods><Good GoodID="1" Price="1" Count="1"/></Goods></order></orders>'
    ).encode()


def test_external_entity_file_is_refused_and_never_read(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    with pytest.raises(UnreadableFile) as caught:
        parse_order_file(_xxe(secret.as_uri()), "o.xml")
    assert str(caught.value) == XXE_REASON


def test_the_parser_itself_never_expands_entities(tmp_path: Path):
    """Even past the DOCTYPE check, the parser settings keep local files and entity bombs out."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    root = etree.fromstring(_xxe(secret.as_uri()), safe_parser())
    assert SECRET not in etree.tostring(root, encoding="unicode")
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>'
    assert "aaaaaaaaaa" not in etree.tostring(etree.fromstring(bomb, safe_parser()), encoding="unicode")


def test_external_entity_never_opens_a_connection():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.2)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/evil.dtd"
        with pytest.raises(UnreadableFile, match="possible XXE attack"):
            parse_order_file(_xxe(url), "o.xml")
        root = etree.fromstring(_xxe(url), safe_parser())
        assert root is not None
        with pytest.raises(TimeoutError):
            listener.accept()


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        ('<!-- c --><!DOCTYPE x [<!ENTITY % p SYSTEM "http://x/e.dtd"> %p;]><orders/>', XXE_REASON),
        ('<!doctype orders SYSTEM "http://x/orders.dtd"><orders/>', XXE_REASON),
        ("<!DOCTYPE html>\n<html><body>502</body></html>", "this is a web page (HTML), not an order file"),
        ("<html><body>502</body></html>", "this is a web page (HTML), not an order file"),
        ("<orders><order>&e;</order></orders>", "the XML is broken: Entity 'e' not defined"),
        ("<orders><order><Client>", "the file is cut off: XML ends unexpectedly at line 1"),
        ("<orders><order></orders>", "the XML is broken"),
        ('<yml_catalog date="2024-05-15"><shop/></yml_catalog>', "not in the Torgsoft order layout"),
    ],
)
def test_unreadable_xml(xml: str, reason: str):
    with pytest.raises(UnreadableFile) as caught:
        parse_order_file(xml.encode(), "o.xml")
    assert reason in str(caught.value)


def test_text_inside_elements_may_mention_doctype():
    xml = ("<orders><order><Client><Name>Іван</Name></Client><Options><OrderNumber>1</OrderNumber>"
           "<Comment><![CDATA[<!DOCTYPE is just text here>]]></Comment></Options>"
           '<Goods><Good GoodID="1" Price="1" Count="1"/></Goods></order></orders>')
    assert parse_order_file(xml.encode(), "o.xml").orders[0].comment == "<!DOCTYPE is just text here>"
