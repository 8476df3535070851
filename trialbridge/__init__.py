"""trialbridge: clinical trial native records to CDISC SDTM, from one declarative study."""

import os

import pyarrow

__version__ = "0.1.0"

# Arrow's buffers from the C library's allocator unless the user chose a pool
# (ARROW_DEFAULT_MEMORY_POOL): the mimalloc pool pyarrow ships hands freed pages back and
# faults them in again, which cost a 2,000-subject convert 9-11 s of kernel time on the
# benchmark machine against 2-3 s with malloc (23.5-25.4 s against 16.3-17.0 s in all)
if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
