"""Retention Lab: `streamlit run app.py` (or `make run`) opens the chat lab; the other jobs are in `pages/`.

Streamlit runs this file once per browser session, as `__main__`: it draws the chat lab (`ui/chat_lab.py`).
`streamlit run` first imports it as a module to look for an `st.App`: that app serves the same file and,
while the server waits for its first visitor, imports the page and the agent stack in the background,
so the first render and the first reply do not pay for them.
"""

import streamlit as st

if __name__ == "__main__":
    from ui.chat_lab import main

    main()
else:
    from ui.warm_up import warm_up_imports

    app = st.App(__file__, lifespan=warm_up_imports)
