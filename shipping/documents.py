"""The shipment's papers as PDF, drawn on the server with reportlab (pure Python, no
system packages): packing slip, bill of lading and the package labels, each with Code 128
barcodes a scanner reads at the dock. Rendering only: `shipping.services` gathers the
facts (`DocumentFacts`) and stores the bytes."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import HRFlowable

from mes.core.formatting import quantity_text

# A 4 x 6 inch thermal label, the usual size of a carton label.
LABEL_SIZE = (101.6 * mm, 152.4 * mm)


@dataclass(frozen=True)
class LotQuantity:
    lot: str
    quantity: Decimal


@dataclass(frozen=True)
class LineFacts:
    order: str
    line_no: int
    customer_po: str
    sku: str
    name: str
    unit: str
    quantity: Decimal
    picked: Decimal
    short: Decimal
    lots: list[LotQuantity] = field(default_factory=list)


@dataclass(frozen=True)
class PackageFacts:
    label: str
    type: str
    weight_kg: Decimal
    length_cm: int
    width_cm: int
    height_cm: int
    contents: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DocumentFacts:
    """Everything the papers print, read once."""

    number: str
    plant_name: str
    plant_address: list[str]
    customer: str
    customer_address: list[str]
    ship_to: list[str]
    orders: list[str]
    planned_ship_date: dt.date | None
    dock: str
    carrier: str
    service_level: str
    tracking_number: str
    driver_name: str
    lines: list[LineFacts]
    packages: list[PackageFacts]
    generated_at: dt.datetime

    @property
    def total_weight_kg(self) -> Decimal:
        return sum((p.weight_kg for p in self.packages), Decimal("0"))


def _styles() -> dict[str, ParagraphStyle]:
    sheet = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=sheet["Title"], fontSize=16, spaceAfter=4),
        "h": ParagraphStyle("h", parent=sheet["Heading4"], spaceBefore=6, spaceAfter=2),
        "p": ParagraphStyle("p", parent=sheet["BodyText"], fontSize=9, leading=11),
        "small": ParagraphStyle("small", parent=sheet["BodyText"], fontSize=7.5, leading=9),
        "big": ParagraphStyle("big", parent=sheet["BodyText"], fontSize=14, leading=17),
    }


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _barcode(value: str, *, height: float = 14 * mm, width: float = 0.38 * mm) -> Flowable:
    return Code128(value, barHeight=height, barWidth=width, humanReadable=True, quiet=True)


def _grid(rows: list[list[object]], widths: list[float], header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style += [
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
            ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ]
    table.setStyle(TableStyle(style))
    return table


def _addresses(facts: DocumentFacts, s: dict[str, ParagraphStyle]) -> Table:
    """Ship from, sold to and ship to, side by side."""
    blocks = [
        (_("Ship from"), [facts.plant_name, *facts.plant_address]),
        (_("Customer"), [facts.customer, *facts.customer_address]),
        (_("Ship to"), facts.ship_to or [_("(the customer's address)")]),
    ]
    row = [[_para(title, s["h"]), _para("\n".join(lines), s["p"])] for title, lines in blocks]
    table = Table([row], colWidths=[60 * mm] * 3)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.4, colors.grey),
                ("INNERGRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ]
        )
    )
    return table


def _header(facts: DocumentFacts, title: str, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    meta = [
        f"{_('Shipment')}: {facts.number}",
        f"{_('Orders')}: {', '.join(facts.orders)}",
        f"{_('Ship on')}: {facts.planned_ship_date or '-'}",
        f"{_('Generated')}: {facts.generated_at:%Y-%m-%d %H:%M}",
    ]
    top = Table(
        [[[_para(title, s["title"]), _para("\n".join(meta), s["p"])], _barcode(facts.number)]],
        colWidths=[110 * mm, 70 * mm],
    )
    top.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT")])
    )
    return [top, Spacer(1, 4 * mm), _addresses(facts, s), Spacer(1, 4 * mm)]


def _carrier_block(facts: DocumentFacts, s: dict[str, ParagraphStyle]) -> Paragraph:
    parts = [
        f"{_('Carrier')}: {facts.carrier or _('to be assigned')}",
        f"{_('Service level')}: {facts.service_level or '-'}",
        f"{_('Tracking number')}: {facts.tracking_number or '-'}",
    ]
    if facts.driver_name:
        parts.append(f"{_('Driver')}: {facts.driver_name}")
    return _para("   ".join(parts), s["p"])


def _lots(line: LineFacts) -> str:
    return ", ".join(f"{lot.lot} ({quantity_text(lot.quantity)})" for lot in line.lots) or "-"


def _packages_table(facts: DocumentFacts, s: dict[str, ParagraphStyle]) -> Table:
    rows: list[list[object]] = [
        [_("Package"), _("Type"), _("Weight (kg)"), _("L x W x H (cm)"), _("Contents")]
    ]
    for package in facts.packages:
        rows.append(
            [
                package.label,
                package.type,
                quantity_text(package.weight_kg),
                f"{package.length_cm} x {package.width_cm} x {package.height_cm}",
                _para("; ".join(package.contents) or "-", s["small"]),
            ]
        )
    rows.append(
        [
            _("Total: %(count)d package(s)") % {"count": len(facts.packages)},
            "",
            quantity_text(facts.total_weight_kg),
            "",
            "",
        ]
    )
    return _grid(rows, [38 * mm, 18 * mm, 22 * mm, 30 * mm, 72 * mm])


def _render(
    build: Callable[[dict[str, ParagraphStyle]], list[Flowable]],
    title: str,
    *,
    pagesize: tuple[float, float] = A4,
    margin: float = 15 * mm,
) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=min(margin, 12 * mm),
        bottomMargin=min(margin, 12 * mm),
        title=title,
        author="MES",
    )
    doc.build(build(_styles()))
    return buffer.getvalue()


def packing_slip_pdf(facts: DocumentFacts) -> bytes:
    """What is in the shipment: per order line the quantity shipped, its lots, and what
    is short; then the packages."""

    def build(s: dict[str, ParagraphStyle]) -> list[Flowable]:
        story = _header(facts, _("Packing slip"), s)
        rows: list[list[object]] = [
            [_("Order / line"), _("Customer PO"), _("Item"), _("Qty"), _("Short"), _("Lots")]
        ]
        for line in facts.lines:
            rows.append(
                [
                    f"{line.order}/{line.line_no}",
                    line.customer_po or "-",
                    _para(f"{line.sku}\n{line.name}", s["small"]),
                    f"{quantity_text(line.picked)} {line.unit}",
                    quantity_text(line.short) if line.short else "-",
                    _para(_lots(line), s["small"]),
                ]
            )
        story += [
            _para(_("Lines"), s["h"]),
            _grid(rows, [30 * mm, 26 * mm, 46 * mm, 22 * mm, 14 * mm, 42 * mm]),
            _para(_("Packages"), s["h"]),
            _packages_table(facts, s),
            Spacer(1, 4 * mm),
            _carrier_block(facts, s),
        ]
        return story

    return _render(build, f"Packing slip {facts.number}")


def bill_of_lading_pdf(facts: DocumentFacts) -> bytes:
    """The carrier's receipt for the goods: parties, carrier, packages with weights, the
    goods by item and lot, and the signature boxes."""

    def build(s: dict[str, ParagraphStyle]) -> list[Flowable]:
        story = _header(facts, _("Bill of lading"), s)
        story += [_para(_("Carrier"), s["h"]), _carrier_block(facts, s)]
        story += [_para(_("Packages"), s["h"]), _packages_table(facts, s)]
        rows: list[list[object]] = [[_("Item"), _("Description"), _("Quantity"), _("Lots")]]
        for line in facts.lines:
            if line.picked <= 0:
                continue
            rows.append(
                [
                    line.sku,
                    _para(f"{line.name} ({line.order}/{line.line_no})", s["small"]),
                    f"{quantity_text(line.picked)} {line.unit}",
                    _para(_lots(line), s["small"]),
                ]
            )
        story += [
            _para(_("Goods"), s["h"]),
            _grid(rows, [34 * mm, 70 * mm, 26 * mm, 50 * mm]),
            Spacer(1, 10 * mm),
        ]
        signatures = Table(
            [
                [
                    _para(f"{_('Shipper')}\n\n\n{_('Signature, date')}", s["p"]),
                    _para(f"{_('Carrier / driver')}\n\n\n{_('Signature, date')}", s["p"]),
                    _para(f"{_('Consignee')}\n\n\n{_('Signature, date')}", s["p"]),
                ]
            ],
            colWidths=[60 * mm] * 3,
            rowHeights=[28 * mm],
        )
        signatures.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("INNERGRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(KeepTogether([signatures]))
        return story

    return _render(build, f"Bill of lading {facts.number}")


def _label(
    facts: DocumentFacts, s: dict[str, ParagraphStyle], *, code: str, heading: str, detail: str
) -> list[Flowable]:
    return [
        _para(f"{_('From')}: {facts.plant_name}\n" + "\n".join(facts.plant_address), s["small"]),
        HRFlowable(width="100%", thickness=0.6, color=colors.black, spaceBefore=2, spaceAfter=2),
        _para(_("Ship to"), s["small"]),
        _para("\n".join([facts.customer, *facts.ship_to]), s["big"]),
        HRFlowable(width="100%", thickness=0.6, color=colors.black, spaceBefore=2, spaceAfter=2),
        _para(heading, s["big"]),
        _para(detail, s["p"]),
        Spacer(1, 4 * mm),
        _barcode(code, height=22 * mm, width=0.42 * mm),
        Spacer(1, 2 * mm),
        _para(f"{_('Carrier')}: {facts.carrier or _('to be assigned')}", s["small"]),
    ]


def labels_pdf(facts: DocumentFacts) -> bytes:
    """One 4 x 6 inch label per package (its Code 128 label) and one for the shipment."""

    def build(s: dict[str, ParagraphStyle]) -> list[Flowable]:
        count = len(facts.packages)
        story: list[Flowable] = _label(
            facts,
            s,
            code=facts.number,
            heading=_("Shipment %(number)s") % {"number": facts.number},
            detail=_("%(count)d package(s), %(weight)s kg. Orders: %(orders)s")
            % {
                "count": count,
                "weight": quantity_text(facts.total_weight_kg),
                "orders": ", ".join(facts.orders),
            },
        )
        for position, package in enumerate(facts.packages, start=1):
            story.append(PageBreak())
            story += _label(
                facts,
                s,
                code=package.label,
                heading=_("Package %(n)d of %(count)d") % {"n": position, "count": count},
                detail=f"{facts.number} · {package.type} · {quantity_text(package.weight_kg)} kg · "
                f"{package.length_cm} x {package.width_cm} x {package.height_cm} cm",
            )
        return story

    return _render(build, f"Labels {facts.number}", pagesize=LABEL_SIZE, margin=5 * mm)
