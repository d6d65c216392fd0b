"""The smallest page with a chat input: what Streamlit itself costs to render here (bench_chat.py's baseline)."""

import streamlit as st

st.title("Chat lab")
st.chat_input("Write as the customer…")
