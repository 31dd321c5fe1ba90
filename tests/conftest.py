import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The tests' own small territory files (tests/fixtures/README.md); the demo stays in territory/demo.
FIXTURES = ROOT / "tests" / "fixtures"

from ops.servers import free_port  # noqa: E402,F401  (the tests' and the benches' one helper)

# The statistics' pseudonyms (analytics/ingest.py) are keyed by this secret in the tests, so that
# none of them writes var/analytics.key.
os.environ.setdefault("GRU_ANALYTICS_SECRET", "tests-analytics-secret-0123456789")
