"""Reading the platform's exports and writing run outputs: sniffing, CSV and XLSX readers,
conforming to the schemas, and atomic, byte-reproducible writers."""

from vaxreport.io.core import (
                               DELIMITERS,
                               Inputs,
                               InputWarning,
                               SourceFile,
                               _read_raw,
                               find_input,
                               load_inputs,
                               load_table,
)
from vaxreport.io.write import atomic_write, sha256_file, write_bytes, write_json, write_parquet, write_text

__all__ = ["DELIMITERS", "InputWarning", "Inputs", "SourceFile", "_read_raw",
           "atomic_write", "find_input", "load_inputs", "load_table", "sha256_file",
           "write_bytes", "write_json", "write_parquet", "write_text"]
