"""Reading the platform's exports and writing run outputs: sniffing, CSV and XLSX readers,
conforming to the schemas, and atomic, byte-reproducible writers."""

from vaxreport.io.core import (
                               DATE_FORMATS,
                               DELIMITERS,
                               Inputs,
                               InputWarning,
                               SourceFile,
                               ValidationReport,
                               _read_raw,
                               find_input,
                               load_inputs,
                               load_table,
                               validate_folder,
)
from vaxreport.io.write import atomic_write, sha256_file, write_bytes, write_json, write_parquet, write_text

__all__ = ["DATE_FORMATS", "DELIMITERS", "InputWarning", "Inputs", "SourceFile", "ValidationReport", "_read_raw",
           "atomic_write", "find_input", "load_inputs", "load_table", "sha256_file", "validate_folder",
           "write_bytes", "write_json", "write_parquet", "write_text"]
