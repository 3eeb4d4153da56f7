"""Reading the platform's exports and writing run outputs.

- ``sniff``: what a text export looks like (encoding, delimiter, header row).
- ``delimited`` / ``xlsx``: the CSV and XLSX readers, file -> ``RawTable`` (``raw``).
- ``conform``: canonical tables: ``read_raw``, ``load_table``, ``find_input``, ``load_inputs``;
  ``stream_table`` conforms a large table batch by batch into a ``TableSink``.
- ``write``: atomic, byte-reproducible writers and ``sha256_file``.
"""

from vaxreport.io.conform import (
    FILE_ALIASES,
    Inputs,
    InputWarning,
    OpenSink,
    SourceFile,
    TableSink,
    find_input,
    load_inputs,
    load_table,
    read_raw,
    stream_table,
)
from vaxreport.io.delimited import count_lines
from vaxreport.io.raw import RawTable
from vaxreport.io.sniff import DELIMITERS
from vaxreport.io.write import atomic_write, sha256_file, write_bytes, write_json, write_parquet, write_text

__all__ = ["DELIMITERS", "FILE_ALIASES", "InputWarning", "Inputs", "OpenSink", "RawTable", "SourceFile", "TableSink",
           "atomic_write", "count_lines", "find_input", "load_inputs", "load_table", "read_raw", "stream_table",
           "sha256_file", "write_bytes", "write_json", "write_parquet", "write_text"]
