"""Torgsoft orders written as XML (some shop sites send that instead of JSON).

Accepted layout: the Torgsoft JSON order, element for key:

    <orders>
      <order>
        <Client><Name>Іваненко Іван</Name><MPhone>+380501234567</MPhone><Місто>Київ</Місто>...</Client>
        <Options><OrderNumber>1001</OrderNumber><OrderDate>2024-05-01 10:00:00</OrderDate>...</Options>
        <Goods><Good GoodID="12" Price="450,00" Count="1"/>...</Goods>
      </order>
    </orders>

(a single <order> root is fine too; Client/Options values may also be attributes; a Good's values may be
child elements). Each <order> becomes the same dict the JSON would give and goes through the Torgsoft parser.

Security: a file with a DOCTYPE or entity declarations is refused before parsing (XXE, "billion laughs"),
and the parser itself never loads DTDs, resolves entities or touches the network.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from shopsync.orders.model import CutOffFile, UnreadableFile

FORMAT = "torgsoft_xml"
XXE_REASON = "XML with a DOCTYPE or entity declarations is not accepted (possible XXE attack)"

_XML_DECLARATION = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")
_FIRST_ELEMENT = re.compile(r"<[^?!/\s]")
_DECLARATIONS = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_HTML_DOCTYPE = re.compile(r"<!DOCTYPE\s+html\s*>", re.IGNORECASE)
_HTML_ROOT = re.compile(r"<html[\s>]", re.IGNORECASE)
_LAYOUT = "expected <orders><order><Client>…</Client><Options>…</Options><Goods><Good …/></Goods></order></orders>"


def torgsoft_xml_entries(text: str) -> list[Any]:
    """The orders of a Torgsoft XML file as JSON-like dicts, or UnreadableFile."""
    root = _parse_safely(text)
    if _local_name(root) == "order":
        return [_order(root)]
    orders = [_order(child) for child in _elements(root) if _local_name(child) == "order"]
    if not orders and _local_name(root) != "orders":
        raise UnreadableFile(f"the XML file is not in the Torgsoft order layout: {_LAYOUT}")
    return orders


def _parse_safely(text: str) -> etree._Element:
    body = _XML_DECLARATION.sub("", text, count=1)
    first_element = _FIRST_ELEMENT.search(body)
    prolog, root_start = (body[: first_element.start()], body[first_element.start() :]) if first_element else (body, "")
    if _HTML_DOCTYPE.search(prolog) or _HTML_ROOT.match(root_start):
        raise UnreadableFile("this is a web page (HTML), not an order file")
    if _DECLARATIONS.search(prolog):
        raise UnreadableFile(XXE_REASON)
    try:
        root = etree.fromstring(body.encode("utf-8"), safe_parser())
    except etree.XMLSyntaxError as error:
        if "Premature end of data" in error.msg or not body.rstrip().endswith(">"):
            last_line = body.rstrip().count("\n") + 1
            raise CutOffFile(f"the file is cut off: XML ends unexpectedly at line {last_line}") from None
        raise UnreadableFile(f"the XML is broken: {error.msg}") from None
    if root is None:
        raise UnreadableFile("the XML file holds no elements")
    if root.getroottree().docinfo.doctype:
        raise UnreadableFile(XXE_REASON)
    return root


def safe_parser() -> etree.XMLParser:
    """Never loads a DTD, never expands entities, never opens a network connection, keeps libxml2's size limits."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def _order(element: etree._Element) -> dict[str, Any]:
    order: dict[str, Any] = dict(element.attrib)
    for child in _elements(element):
        name = _local_name(child)
        order[name] = [_value(good) for good in _elements(child)] if name.casefold() == "goods" else _value(child)
    return order


def _value(element: etree._Element) -> Any:
    """Text for a leaf element; a dict of attributes and children otherwise (repeated children -> list)."""
    children = list(_elements(element))
    if not children and not element.attrib:
        return element.text or ""
    grouped: dict[str, list[Any]] = {}
    for child in children:
        grouped.setdefault(_local_name(child), []).append(_value(child))
    value: dict[str, Any] = dict(element.attrib)
    value.update({name: values[0] if len(values) == 1 else values for name, values in grouped.items()})
    return value


def _elements(element: etree._Element) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str)]


def _local_name(element: etree._Element) -> str:
    return etree.QName(element).localname
