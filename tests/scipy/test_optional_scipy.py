"""SciPy stays optional: chainrule never imports it (nor the rules that need it), and without
it ``chainrule.scipy`` raises ImportError saying what to install.  Each check runs in a fresh
interpreter (so that what the rest of the suite imported does not count); these tests need
no SciPy themselves.
"""

from __future__ import annotations

from tests.fresh_interpreter import run_json

CORE = """
import json, sys
import chainrule, chainrule.numpy, chainrule.func, chainrule.linalg, chainrule.nn
import chainrule.autograd, chainrule.testing
from chainrule.rules import REGISTRY
print(json.dumps({
    "scipy": sorted(m for m in sys.modules if m == "scipy" or m.startswith("scipy.")),
    "rules": "chainrule.rules.special" in sys.modules,
    "package": sorted(m for m in sys.modules if m.startswith("chainrule.scipy")),
    "primitives": sorted(n for n in REGISTRY if n.startswith("scipy.")),
}))
"""


def test_chainrule_does_not_import_scipy():
    assert run_json(CORE) == {"scipy": [], "rules": False, "package": [], "primitives": []}


WITHOUT_SCIPY = """
import json, sys
sys.modules["scipy"] = None  # as if SciPy were not installed: importing it raises ImportError
import chainrule  # (the core needs only NumPy)
import chainrule.numpy as cnp
errors = {}
for name in ("chainrule.scipy", "chainrule.scipy.special", "chainrule.scipy.stats",
             "chainrule.scipy.stats.norm", "chainrule.rules.special"):
    try:
        __import__(name)
    except ImportError as err:
        errors[name] = str(err)
print(json.dumps({"errors": errors, "works": float(cnp.sum(cnp.exp(cnp.zeros(2))))}))
"""


def test_without_scipy_the_import_error_says_what_to_install():
    result = run_json(WITHOUT_SCIPY)
    assert result["works"] == 2.0
    assert sorted(result["errors"]) == ["chainrule.rules.special", "chainrule.scipy",
                                        "chainrule.scipy.special", "chainrule.scipy.stats",
                                        "chainrule.scipy.stats.norm"]
    for message in result["errors"].values():
        assert "SciPy" in message and "pip install 'chainrule[scipy]'" in message
