"""A tiny, valid PDF 1.4 receipt built by hand (one page, Helvetica text, exact xref offsets)."""

from __future__ import annotations

from altegio_mcp.sandbox.models import Visit
from altegio_mcp.sandbox.state import SandboxState
from altegio_mcp.sandbox.views import account_title
from altegio_mcp.sandbox.visits import visit_paid, visit_total

PAGE_WIDTH = 300
LINE_HEIGHT = 14
MARGIN = 24


def _escape(text: str) -> bytes:
    """A PDF literal string body in WinAnsi; characters outside it become '?'."""
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _money(amount: float, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def receipt_lines(state: SandboxState, visit: Visit) -> list[str]:
    location = state.locations_by_id[visit.location_id]
    client = state.client(visit.client_id) if visit.client_id is not None else None
    currency = location.currency_short_title
    lines = [
        location.title,
        location.address,
        "",
        f"Receipt for visit {visit.id}",
        f"Date: {visit.day.isoformat()}",
    ]
    if client is not None:
        lines.append(f"Client: {client.name} {client.surname}".rstrip())
    lines.append("")
    for appointment in state.appointments_of_visit(visit.id):
        member = state.team_members_by_id[appointment.staff_id]
        for line in appointment.services:
            lines.append(
                f"{line.title} x{line.amount} ({member.name}): {_money(line.cost * line.amount, currency)}"
            )
    lines.extend(["", f"Total: {_money(visit_total(state, visit), currency)}"])
    for payment in visit.payments:
        lines.append(
            f"Paid ({account_title(location, payment.account_id)}): {_money(payment.amount, currency)}"
        )
    lines.append(f"Balance due: {_money(max(0.0, visit_total(state, visit) - visit_paid(visit)), currency)}")
    return lines


def build_pdf(lines: list[str], title: str) -> bytes:
    """A one-page PDF showing `lines`, with a correct cross-reference table."""
    height = MARGIN * 2 + LINE_HEIGHT * max(len(lines), 1)
    text = [f"BT /F1 10 Tf {LINE_HEIGHT} TL {MARGIN} {height - MARGIN - 10} Td".encode()]
    for index, line in enumerate(lines):
        text.append((b"" if index == 0 else b"T* ") + b"(" + _escape(line) + b") Tj")
    text.append(b"ET")
    stream = b"\n".join(text)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {height}] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>".encode(),
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Title (" + _escape(title) + b") /Producer (altegio-mcp sandbox) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n".encode()
    out += f"startxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


def receipt_pdf(state: SandboxState, visit: Visit) -> bytes:
    return build_pdf(receipt_lines(state, visit), f"Receipt for visit {visit.id}")
