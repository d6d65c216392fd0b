"""Serve app.py the classic way, without its st.App (so without the import warm-up), for bench_chat.py.

    .venv/bin/python benchmarks/serve_without_warm_up.py PORT

`streamlit run app.py` finds the st.App in app.py and serves through it; this runs Streamlit's classic server on
the same file instead, with the same pages and config, so the two are compared on the same page.
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit import config
from streamlit.web import bootstrap

APP = Path(__file__).resolve().parent.parent / "app.py"


def main() -> None:
    port = int(sys.argv[1])
    flags = {"server_address": "127.0.0.1", "server_port": port, "server_headless": True}
    config._main_script_path = str(APP)  # what `streamlit run` sets before loading config (a private attribute)
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(str(APP), False, [], flags)


if __name__ == "__main__":
    main()
