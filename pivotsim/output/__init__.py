"""What a person sees of a run: figures (:mod:`.figures`, :mod:`.sensitivity_figures`),
the PDF note (:mod:`.pdf`, :mod:`.chapter`, :mod:`.book`), result folders (:mod:`.folders`).

Result objects never draw or write; these modules do.  Kept import-light:
reportlab and matplotlib load only when a PDF or a figure is made.
"""
