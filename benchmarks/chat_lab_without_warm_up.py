"""The chat lab page served by a plain `streamlit run`, without app.py's st.App warm-up (bench_chat.py compares)."""

from ui.chat_lab import main

main()
