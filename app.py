"""Retention Lab: `streamlit run app.py` (or `make run`) opens the chat lab; the other jobs are in `pages/`.

Streamlit runs this file on every rerun of the chat lab, as `__main__`: it draws the page (`ui/chat_lab.py`).
The sidebar's navigation to `pages/` is Streamlit's own (a `pages/` folder beside this file).
`streamlit run` first imports it as a module to look for an `st.App`: that app serves this same file and, as
the server starts, imports the chat page in the background; once the page has rendered, it imports the agent
stack the same way (`ui/warm_up.py`). So the first render does not wait for those imports, nor does a first reply
typed a few seconds after it.
"""

import streamlit as st

if __name__ == "__main__":
    from ui.chat_lab import main

    main()
else:
    from ui.warm_up import warm_up_imports

    app = st.App(__file__, lifespan=warm_up_imports)
