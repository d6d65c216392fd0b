"""Retention Lab: `streamlit run app.py` (or `make run`) opens the chat lab; the other jobs are in `pages/`.

Streamlit runs this file on every rerun of a browser session, as `__main__`: it lays out the navigation and runs
the page in view, by default the chat lab (`ui/chat_lab.py`).
`streamlit run` first imports it as a module to look for an `st.App`: that app serves this same file and, as
the server starts, imports the chat page in the background; once the page has rendered, it imports the agent
stack the same way (`ui/warm_up.py`). So neither the first render nor the first reply pays for those imports.
"""

import streamlit as st

if __name__ == "__main__":
    from ui.chat_lab import main

    st.navigation(
        [
            st.Page(main, title="Chat lab", icon=":material/chat:", default=True),
            st.Page("pages/1_Evals.py", title="Evals", icon=":material/fact_check:"),
            st.Page("pages/2_AB_compare.py", title="A/B compare", icon=":material/compare_arrows:"),
        ]
    ).run()
else:
    from ui.warm_up import warm_up_imports

    app = st.App(__file__, lifespan=warm_up_imports)
