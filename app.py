"""Retention Lab: `streamlit run app.py` (or `make run`) opens the chat lab; the other jobs are in `pages/`.

Streamlit runs this file on every rerun, as `__main__`: it names the pages for the navigation ("Chat lab", "Evals",
"A/B compare") and runs the one open: the chat lab (`ui/chat_lab.py`) or a page in `pages/`.
`streamlit run` first imports it as a module to look for an `st.App`: that app serves this same file and, before
it takes its first request, imports the chat page and the agent stack and compiles and lints the policy the lab
opens on (`ui/warm_up.py`). So neither the first render nor a first reply typed at once waits for them.
"""

import streamlit as st

if __name__ == "__main__":
    from ui.chat_lab import main

    pages = [
        st.Page(main, title="Chat lab", url_path="chat", default=True),
        st.Page("pages/1_Evals.py", title="Evals", url_path="Evals"),
        st.Page("pages/2_AB_compare.py", title="A/B compare", url_path="AB_compare"),
    ]
    st.navigation(pages).run()
else:
    from ui.warm_up import warm_up_imports

    app = st.App(__file__, lifespan=warm_up_imports)
