"""Rendered pages of a PDF, for tests: how much of each page's body is used.

Pages are rendered with PDFium (pypdfium2) at a low resolution; a row of the
page body counts as used when any pixel is darker than near-white.  The
*fill* of a page is the share of the body's height from its top to its last
used row (what a reader sees as "half empty" when it is below one half).
The header and footer bands (page furniture) are left out.
"""

from __future__ import annotations

import numpy as np
import pypdfium2 as pdfium

#: top and bottom bands of page furniture [share of page height]
HEADER_SHARE = 22 / 297
FOOTER_SHARE = 20 / 297
INK_LEVEL = 235


def page_fills(path, dpi: int = 40) -> list[float]:
    """Fill of each page's body, in [0, 1]."""
    pdf = pdfium.PdfDocument(str(path))
    out = []
    try:
        for page in pdf:
            image = page.render(scale=dpi / 72, grayscale=True).to_numpy()
            gray = image if image.ndim == 2 else image[..., 0]
            h = gray.shape[0]
            top, bottom = int(h * HEADER_SHARE), int(h * (1 - FOOTER_SHARE))
            body = gray[top:bottom]
            used = np.nonzero((body < INK_LEVEL).any(axis=1))[0]
            out.append(0.0 if used.size == 0 else float((used[-1] + 1) / body.shape[0]))
    finally:
        pdf.close()
    return out
