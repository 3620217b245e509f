"""``python -m bench.audit_trail``: run the audit trail benchmark (see the package docstring)."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
