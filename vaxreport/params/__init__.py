"""Run parameters: one typed, frozen ``RunParams`` built from ``params/<period>.yaml``.

``model`` holds the classes and their construction; ``check`` the code-preserving YAML loader, the
problem collector and the typed converters.

``RunParams.from_yaml(path)`` checks every key and value and raises one ``ParamsError`` listing all
problems as ``- ...`` lines: unknown keys (with the closest known key), wrong types (echoing the
value), impossible dates, unknown district codes.

Codes stay strings. YAML reads ``164`` as a number and ``017`` as the octal number 15; the loader
used here keeps the text of every integer scalar, so ``code: 017`` and ``code: 164`` give ``"017"``
and ``"164"``. Codes are fixed width (province 2 digits, district 3), so a number written without
its leading zeros (``province_code: 1``) is padded back (``"01"``), and the 3-digit CCCD spelling
of a province (``019``) is read as its GSO code (``"19"``). Quoting (``"19"``) is the unambiguous
way and always works.

Examples:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "p.yaml").write_text(
    ...     "period: 2022-05\\nreport_date: 2022-06-01\\ninputs: exports\\n", encoding="utf-8")
    >>> p = RunParams.from_yaml(d / "p.yaml")
    >>> p.province_name, p.period_end.isoformat(), p.district_codes()[:3]
    ('Thái Nguyên', '2022-05-31', ['164', '165', '167'])
    >>> p.district("164").agency
    'TRUNG TÂM Y TẾ THÀNH PHỐ THÁI NGUYÊN'
"""

from vaxreport.params.check import load_yaml
from vaxreport.params.model import (
    DEFAULT_TARGETS,
    DistrictParams,
    RunParams,
    Signatory,
    Thresholds,
    previous_period,
)

__all__ = ["Signatory", "DistrictParams", "Thresholds", "RunParams", "DEFAULT_TARGETS", "load_yaml",
           "previous_period"]
